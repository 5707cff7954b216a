#pragma once
#include "net/ops.hpp"

namespace tacos::app {
net::BuildInfo build_info();
}
