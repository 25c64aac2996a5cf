// asc transform: A("text") in the agent's sources becomes a counted ASCII
// string in static memory, memory.data<u8>([len, ...bytes]), of type usize.
//
// Why: AssemblyScript string literals are UTF-16 with a 20-byte header, so
// the agent's log and error texts cost more than twice their length in a
// module that must fit 32 KiB. Texts stay readable in the source; the
// module carries them as bytes. Texts are limited to 255 ASCII characters
// (anything else is a build error, not a silent '?').
import { Transform } from "assemblyscript/transform";
import assemblyscript from "assemblyscript";

const { Node, NodeKind } = assemblyscript;

function countedAscii(lit, range) {
  const text = lit.value;
  if (text.length > 255) throw new Error(`A(): text longer than 255 characters: ${text.slice(0, 40)}...`);
  const bytes = [text.length];
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c > 0x7e || c < 0x20) throw new Error(`A(): non-printable or non-ASCII character in "${text}"`);
    bytes.push(c);
  }
  const int = (v) => Node.createIntegerLiteralExpression(globalThis.i64_new(v, 0), range);
  return Node.createCallExpression(
    Node.createPropertyAccessExpression(
      Node.createIdentifierExpression("memory", range),
      Node.createIdentifierExpression("data", range),
      range),
    [Node.createNamedType(Node.createSimpleTypeName("u8", range), null, false, range)],
    [Node.createArrayLiteralExpression(bytes.map(int), range)],
    range);
}

function isMarker(node) {
  return node && node.kind === NodeKind.Call && node.expression.kind === NodeKind.Identifier &&
    node.expression.text === "A" && node.args.length === 1 && node.args[0].kind === NodeKind.Literal &&
    typeof node.args[0].value === "string";
}

/** Replaces every A("...") below node, in place. */
function rewrite(node, seen) {
  if (!node || typeof node !== "object" || seen.has(node)) return;
  seen.add(node);
  for (const key of Object.keys(node)) {
    if (key === "range" || key === "parent" || key === "source") continue;
    const value = node[key];
    if (Array.isArray(value)) {
      value.forEach((child, i) => {
        if (isMarker(child)) value[i] = countedAscii(child.args[0], child.range);
        else rewrite(child, seen);
      });
    } else if (isMarker(value)) {
      node[key] = countedAscii(value.args[0], value.range);
    } else if (value && typeof value === "object") {
      rewrite(value, seen);
    }
  }
}

export default class AsciiTextTransform extends Transform {
  afterParse(parser) {
    const seen = new Set();
    for (const source of parser.sources) {
      if (!source.normalizedPath.startsWith("~lib/")) rewrite(source, seen);
    }
  }
}
