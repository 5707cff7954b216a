// Node module hooks that let a k6 script run under Node for a test: "k6", "k6/http",
// "k6/metrics" and k6-utils resolve to the small shims next to this file, and a k6 script (.js)
// loads as an ES module.
const SHIMS = { k6: "./k6.mjs", "k6/http": "./http.mjs", "k6/metrics": "./metrics.mjs" };

export async function resolve(specifier, context, next) {
  if (SHIMS[specifier]) return { url: new URL(SHIMS[specifier], import.meta.url).href, shortCircuit: true };
  if (specifier.startsWith("https://jslib.k6.io/k6-utils/")) {
    return { url: new URL("./k6-utils.mjs", import.meta.url).href, shortCircuit: true };
  }
  const resolved = await next(specifier, context);
  if (resolved.url.includes("/deploy/loadtest/") && resolved.url.endsWith(".js")) return { ...resolved, format: "module" };
  return resolved;
}
