"use strict";
// Preloaded into the jsii runtime's node process (NODE_OPTIONS="--require ...", set by
// infra/lazy_provider.py). The AWS provider's lib/index.js is 2,135 lines of
// `exports.vpc = require("./vpc");`: loading it compiles every resource module, about 5 s of
// each synth, although a stack uses some 70. This loader gives that one file getters that
// require a module on first use. Any other line in the file (a provider release that changes
// its shape) makes it load the file as it is.

const fs = require("fs");
const Module = require("module");

const PROVIDER_INDEX = /[\\/]@cdktf[\\/]provider-aws[\\/](?:.+[\\/])?lib[\\/]index\.js$/;
const REQUIRE_LINE = /^exports\.([A-Za-z0-9_$]+) = require\("(\.\/[A-Za-z0-9_.-]+)"\);$/;
const HARMLESS_LINES = [
  /^"use strict";$/,
  /^\s*(\/\*\*?|\*|\*\/|\/\/)/, // comments, the source map line included
  /^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/,
  /^exports\.[A-Za-z0-9_$]+ = (exports\.[A-Za-z0-9_$]+ = )*void 0;$/,
  /^\s*$/,
];

/** The `[name, request]` pairs of an index made only of re-exports, else null. */
function reexports(source) {
  const pairs = [];
  for (const line of source.split("\n")) {
    const match = REQUIRE_LINE.exec(line);
    if (match) {
      pairs.push([match[1], match[2]]);
    } else if (!HARMLESS_LINES.some((pattern) => pattern.test(line))) {
      return null;
    }
  }
  return pairs.length > 0 ? pairs : null;
}

const loadJavaScript = Module._extensions[".js"];

Module._extensions[".js"] = function loadProviderIndexLazily(module, filename) {
  const pairs = PROVIDER_INDEX.test(filename) ? reexports(fs.readFileSync(filename, "utf8")) : null;
  if (pairs === null) {
    return loadJavaScript(module, filename);
  }
  Object.defineProperty(module.exports, "__esModule", { value: true });
  for (const [name, request] of pairs) {
    Object.defineProperty(module.exports, name, {
      configurable: true,
      enumerable: true,
      get() {
        const value = module.require(request);
        Object.defineProperty(module.exports, name, { value, enumerable: true, writable: true });
        return value;
      },
    });
  }
};

module.exports = { reexports, PROVIDER_INDEX };
