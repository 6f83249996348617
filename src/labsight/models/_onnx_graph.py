"""One ONNX graph assembled from several converted pieces.

A labsight model is more than one scikit-learn estimator: the point predictor, the K fold models
behind its CV+ intervals, the members of an ensemble, a calibration on top. Each piece is converted
on its own (skl2onnx, onnxmltools) into a small ONNX model; :class:`GraphBuilder` copies their
nodes into one graph under a prefix of their own, wiring the piece's inputs to tensors of the
graph (its ``feeds``), and adds the nodes that join them (averages, ranks, sigmoids). Every piece
is converted for the same opsets (:data:`OPSETS`), so their nodes mean the same in the joint graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

__all__ = ["OPSETS", "GraphBuilder"]

OPSETS = {"": 19, "ai.onnx.ml": 3}
"""Opset of each domain, for every piece and for the joint graph (19: ``Equal`` on strings)."""


class GraphBuilder:
    """Nodes, constants, inputs and outputs of the graph being built; names are made unique."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        """A new tensor name starting with ``hint``."""
        self._count += 1
        return f"{hint}__{self._count}"

    def add_input(self, name: str, elem_type: int, shape: Sequence[int | str | None]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))
        return name

    def add_output(
        self, source: str, name: str, elem_type: int, shape: Sequence[int | str | None]
    ) -> None:
        """Expose tensor ``source`` as graph output ``name``."""
        self.op("Identity", [source], out=name)
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))

    def const(self, value: Any, hint: str = "const") -> str:
        """A constant tensor (numpy array or a list of strings)."""
        name = self.fresh(hint)
        array = np.asarray(value)
        if array.dtype.kind in "USO":
            array = np.asarray([str(v) for v in array.reshape(-1)], dtype=object).reshape(
                array.shape
            )
        tensor = numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        return name

    def op(
        self, op_type: str, inputs: Sequence[str], *, out: str | None = None, **attrs: Any
    ) -> str:
        """Append one node with one output; return the output's name."""
        return self.ops(op_type, inputs, [out or self.fresh(op_type.lower())], **attrs)[0]

    def ops(
        self, op_type: str, inputs: Sequence[str], outputs: Sequence[str], **attrs: Any
    ) -> list[str]:
        """Append one node with several outputs; return their names."""
        self.nodes.append(
            helper.make_node(
                op_type, list(inputs), list(outputs), name=self.fresh(op_type), **attrs
            )
        )
        return list(outputs)

    def topk(self, values: str, k: int, *, axis: int, largest: bool) -> tuple[str, str]:
        """The ``k`` largest (or smallest) ``values`` along ``axis``, sorted, and their indices;
        equal values keep their index order."""
        top, index = self.ops(
            "TopK",
            [values, self.const(np.array([k], dtype=np.int64), "k")],
            [self.fresh("topk"), self.fresh("topk_index")],
            axis=axis,
            largest=int(largest),
            sorted=1,
        )
        return top, index

    def embed(self, piece: onnx.ModelProto, feeds: Mapping[str, str], hint: str) -> list[str]:
        """Copy ``piece``'s nodes and constants in under a fresh prefix, its inputs replaced by the
        tensors ``feeds`` names (piece input name → graph tensor); return its outputs' names."""
        for domain in piece.opset_import:
            want = OPSETS.get(domain.domain or "")
            if want is not None and domain.version > want:
                raise ValueError(
                    f"a piece uses opset {domain.version} of {domain.domain or 'ai.onnx'!r}, "
                    f"above the graph's {want}"
                )
        missing = [i.name for i in piece.graph.input if i.name not in feeds]
        if missing:
            raise ValueError(f"no feed for the piece's inputs {missing}")
        self._count += 1
        prefix = f"{hint}{self._count}/"
        mapping = dict(feeds)
        graph = piece.graph
        for init in graph.initializer:
            copy = onnx.TensorProto()
            copy.CopyFrom(init)
            copy.name = prefix + init.name
            mapping[init.name] = copy.name
            self.initializers.append(copy)
        for node in graph.node:
            self.nodes.append(_renamed(node, mapping, prefix))
        return [mapping.get(o.name, prefix + o.name) for o in graph.output]

    def model(self, doc: str, metadata: Mapping[str, str]) -> onnx.ModelProto:
        """The finished, checked model."""
        graph = helper.make_graph(
            self.nodes, "labsight", self.inputs, self.outputs, self.initializers
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS.items()],
            producer_name="labsight",
            doc_string=doc,
        )
        model.ir_version = 9  # what onnxruntime >= 1.16 reads
        helper.set_model_props(model, dict(metadata))
        onnx.checker.check_model(model)
        return model


def _renamed(node: onnx.NodeProto, mapping: Mapping[str, str], prefix: str) -> onnx.NodeProto:
    """``node`` with its tensor names prefixed (or mapped), subgraphs included."""
    copy = onnx.NodeProto()
    copy.CopyFrom(node)

    def rename(name: str) -> str:
        if not name:
            return name  # an omitted optional input
        return mapping.get(name, prefix + name)

    copy.input[:] = [rename(n) for n in node.input]
    copy.output[:] = [rename(n) for n in node.output]
    copy.name = prefix + node.name
    _rename_subgraphs(copy, rename)
    return copy


def _rename_subgraphs(node: onnx.NodeProto, rename: Any) -> None:
    """Rename the subgraphs of ``node`` (``If``, ``Loop``, ``Scan`` bodies) in place."""
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            _rename_graph(attr.g, rename)
        for sub in attr.graphs:
            _rename_graph(sub, rename)


def _rename_graph(graph: onnx.GraphProto, rename: Any) -> None:
    """Rename, in place, every tensor of a subgraph (its own and the outer ones it reads)."""
    for value in [*graph.input, *graph.output, *graph.value_info]:
        value.name = rename(value.name)
    for init in graph.initializer:
        init.name = rename(init.name)
    for node in graph.node:
        node.input[:] = [rename(n) for n in node.input]
        node.output[:] = [rename(n) for n in node.output]
        _rename_subgraphs(node, rename)
