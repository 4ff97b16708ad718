"use strict";
// Preloaded into the jsii runtime's node process (NODE_OPTIONS="--require ...", set by
// infra/lazy_provider.py). The AWS provider's lib/index.js is 2,135 re-exports such as
// `exports.vpc = require("./vpc");`: loading it compiles every resource module, about 6 s of
// each synth, although a stack uses some 70. This loader gives that one file getters that
// require a module on first use. Any other line in the file (a provider release that changes
// its shape) makes it load the file as it is.

const fs = require("fs");
const Module = require("module");

// jsii starts node with --preserve-symlinks, so node sees the package where jsii links it:
// <kernel folder>/node_modules/@cdktf/provider-aws/lib/index.js.
const PROVIDER_INDEX = /[\\/]@cdktf[\\/]provider-aws[\\/]lib[\\/]index\.js$/;
const REQUIRE_LINE = /^exports\.([A-Za-z0-9_$]+) = require\("(\.\/[A-Za-z0-9_.-]+)"\);$/;
const CODE_WITHOUT_EFFECT = [
  /^"use strict";$/,
  /^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/,
  /^exports\.[A-Za-z0-9_$]+ = (exports\.[A-Za-z0-9_$]+ = )*void 0;$/,
  /^\s*$/,
];
const LINE_COMMENT = /^\s*\/\/.*$/; // the source map line included
const WHOLE_BLOCK_COMMENT = /^\s*\/\*((?!\*\/).)*\*\/\s*$/;
const BLOCK_COMMENT_OPENS = /^\s*\/\*(?!.*\*\/)/;
const BLOCK_COMMENT_ENDS_LINE = /^((?!\*\/).)*\*\/\s*$/; // its first */ ends the line

/** The `[name, request]` pairs of an index made only of re-exports and comments, else null.
 * A comment must fill its lines: code after one would otherwise go unnoticed. */
function reexports(source) {
  const pairs = [];
  let inComment = false;
  for (const line of source.split("\n")) {
    if (inComment) {
      if (line.includes("*/")) {
        if (!BLOCK_COMMENT_ENDS_LINE.test(line)) {
          return null;
        }
        inComment = false;
      }
      continue;
    }
    const match = REQUIRE_LINE.exec(line);
    if (match) {
      pairs.push([match[1], match[2]]);
    } else if (BLOCK_COMMENT_OPENS.test(line)) {
      inComment = true;
    } else if (
      !LINE_COMMENT.test(line) &&
      !WHOLE_BLOCK_COMMENT.test(line) &&
      !CODE_WITHOUT_EFFECT.some((pattern) => pattern.test(line))
    ) {
      return null;
    }
  }
  return pairs.length > 0 && !inComment ? pairs : null;
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
