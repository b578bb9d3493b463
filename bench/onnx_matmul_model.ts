/**
 * A one-node ONNX model for the matmul bench's peer: C = op(A)·op(B) with A and B as graph inputs, written as
 * protobuf bytes by hand (the encoding needs only varints and length-delimited fields, not a library). A·B is
 * a MatMul node; with a transpose it is a Gemm node with transA/transB, so the peer multiplies the stored
 * layout directly rather than running a Transpose first.
 * Field numbers are those of onnx.proto3 (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const ONNX_FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE_INT = 2; // AttributeProto.AttributeType.INT

type Field = Uint8Array;

function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function intField(field: number, value: number): Field {
  return Uint8Array.from([...varint((field << 3) | WIRE_VARINT), ...varint(value)]);
}

function bytesField(field: number, payload: Uint8Array | string): Field {
  const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  return concat([Uint8Array.from([...varint((field << 3) | WIRE_BYTES), ...varint(bytes.length)]), bytes]);
}

const message = (field: number, ...parts: Field[]) => bytesField(field, concat(parts));

/** ValueInfoProto for a float tensor of fixed shape, as graph field `field` (11 = input, 12 = output). */
function tensorValue(field: number, name: string, shape: readonly number[]): Field {
  const dims = shape.map((d) => message(1, intField(1, d))); // TensorShapeProto.dim { dim_value }
  const tensorType = message(1, intField(1, ONNX_FLOAT), message(2, ...dims)); // TypeProto.tensor_type
  return message(field, bytesField(1, name), message(2, tensorType));
}

function intAttribute(name: string, value: number): Field {
  return message(5, bytesField(1, name), intField(20, ATTRIBUTE_INT), intField(3, value)); // NodeProto.attribute
}

export interface MatmulModelShape {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
}

/** The serialized ModelProto: inputs "a" (op(A) stored as [M, K] or [K, M]) and "b", output "c" [M, N]. */
export function matmulModel({ m, n, k, transA = false, transB = false }: MatmulModelShape): Uint8Array {
  const plain = !transA && !transB;
  const node = message(
    1, // GraphProto.node
    bytesField(1, "a"),
    bytesField(1, "b"),
    bytesField(2, "c"),
    bytesField(3, "product"),
    bytesField(4, plain ? "MatMul" : "Gemm"),
    ...(plain ? [] : [intAttribute("transA", transA ? 1 : 0), intAttribute("transB", transB ? 1 : 0)]),
  );
  const graph = message(
    7, // ModelProto.graph
    node,
    bytesField(2, "matmul"),
    tensorValue(11, "a", transA ? [k, m] : [m, k]),
    tensorValue(11, "b", transB ? [n, k] : [k, n]),
    tensorValue(12, "c", [m, n]),
  );
  return concat([
    intField(1, 8), // ir_version
    bytesField(2, "trompe"), // producer_name
    graph,
    message(8, bytesField(1, ""), intField(2, 13)), // opset_import: default domain, opset 13
  ]);
}
