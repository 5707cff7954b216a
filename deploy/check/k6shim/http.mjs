// k6/http's synchronous requests, made with curl (Node has no synchronous HTTP client): enough to
// run a k6 script's iterations against a test server.
import { execFileSync } from "node:child_process";

export const requests = [];

function request(method, url, body, params = {}) {
  const args = ["-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}", "--max-time", "30"];
  for (const [k, v] of Object.entries(params.headers ?? {})) args.push("-H", `${k}: ${v}`);
  if (body !== undefined && body !== null) args.push("--data-binary", "@-");
  args.push(url);
  const out = execFileSync("curl", args, { input: body ?? "", encoding: "utf8", maxBuffer: 64 << 20 });
  const cut = out.lastIndexOf("\n");
  const response = { status: Number(out.slice(cut + 1)), body: out.slice(0, cut), json: () => JSON.parse(out.slice(0, cut)) };
  requests.push({ method, url, status: response.status, tags: params.tags ?? {}, headers: params.headers ?? {} });
  return response;
}

export default {
  get: (url, params) => request("GET", url, null, params),
  post: (url, body, params) => request("POST", url, body, params),
  expectedStatuses: (...statuses) => ({ statuses }),
};
