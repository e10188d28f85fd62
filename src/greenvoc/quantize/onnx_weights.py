"""int8 storage for the weights of the convolutions a QDQ graph leaves in float.

onnxruntime has no int8 ConvTranspose kernel and ``int8-mixed`` keeps fragile layers float:
their float32 weights would dominate the file (HiFi-GAN V1's upsampling layers hold 20 % of
its parameters). :func:`store_float_weights_int8` replaces each such weight initializer by an
int8 one (symmetric, per output channel) and a ``DequantizeLinear`` in front of the node: the
node still computes in float32, on weights rounded to 256 levels per channel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_CONVS = {"Conv": 0, "ConvTranspose": 1}  # output-channel axis of the weight


def store_float_weights_int8(path: Path) -> list[str]:
    """Rewrite ``path`` in place; returns the names of the nodes whose weights became int8."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    dq_outputs = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    new_nodes, touched = [], []
    for node in graph.node:
        if node.op_type not in _CONVS or len(node.input) < 2:
            continue
        name = node.input[1]
        if name in dq_outputs or name not in inits:
            continue  # already quantized by quantize_static, or not a constant
        w = numpy_helper.to_array(inits[name]).astype(np.float32)
        axis = _CONVS[node.op_type]
        other = tuple(d for d in range(w.ndim) if d != axis)
        scale = np.maximum(np.abs(w).max(axis=other) / 127.0, 1e-12).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        graph.initializer.remove(inits[name])
        graph.initializer.extend([
            numpy_helper.from_array(q, f"{name}_int8"),
            numpy_helper.from_array(scale, f"{name}_int8_scale"),
            numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), f"{name}_int8_zero"),
        ])
        new_nodes.append(helper.make_node(
            "DequantizeLinear", [f"{name}_int8", f"{name}_int8_scale", f"{name}_int8_zero"],
            [name], name=f"{name}_int8_dq", axis=axis))
        touched.append(node.name)
    for dq in reversed(new_nodes):  # constants first keeps the graph topologically sorted
        graph.node.insert(0, dq)
    onnx.save(model, str(path))
    return touched
