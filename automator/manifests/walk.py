"""Every scalar of a document with the context a site needs: key, parent, alias use.

The walk never expands an alias twice into the output without noticing: a node
reached a second time is flagged ``via_alias`` (editing it would change another
place too), and the number of visits is capped so that nested aliases cannot make
a small file cost exponential time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from automator.errors import ManifestError
from automator.manifests.document import value_start

MAX_VISITS = 200_000


@dataclass(frozen=True, slots=True)
class Scalar:
    """One scalar value as the walk met it."""

    node: ScalarNode
    start: int  # offset of the value (past &anchor / !tag), quotes included
    end: int
    line: int  # 1-based
    key: str | None  # its key when it is a mapping value
    parent: MappingNode | None  # the mapping it is a value of
    slot: str | None  # the key under which that mapping sits (through one sequence)
    flow: bool  # inside a flow collection
    via_alias: bool  # reached through *alias, or anchored and reached again that way

    @property
    def value(self) -> str:
        return str(self.node.value)


def scalars(path: str, text: str, root: Node) -> list[Scalar]:
    """Every scalar value (not keys) under ``root``, in document order."""
    out: list[Scalar] = []
    first: dict[int, int] = {}  # id(node) -> index in out of its first visit
    shared: set[int] = set()
    seen_collections: set[int] = set()
    # (node, key, parent, slot, flow, via_alias)
    stack: list[tuple[Node, str | None, MappingNode | None, str | None, bool, bool]] = [
        (root, None, None, None, False, False)
    ]
    visits = 0
    while stack:
        node, key, parent, slot, flow, via_alias = stack.pop()
        visits += 1
        if visits > MAX_VISITS:
            raise ManifestError(f"{path}: more than {MAX_VISITS} nodes through aliases")
        if isinstance(node, ScalarNode):
            if id(node) in first:
                shared.add(id(node))
                via_alias = True
            else:
                first[id(node)] = len(out)
            start = value_start(text, node)
            line = node.start_mark.line + 1
            out.append(
                Scalar(node, start, node.end_mark.index, line, key, parent, slot, flow, via_alias)
            )
            continue
        if id(node) in seen_collections:
            via_alias = True
        seen_collections.add(id(node))
        flow = flow or bool(getattr(node, "flow_style", False))
        children: list[tuple[Node, str | None, MappingNode | None, str | None, bool, bool]] = []
        if isinstance(node, MappingNode):
            for key_node, value in node.value:
                name = key_node.value if isinstance(key_node, ScalarNode) else None
                aliased = via_alias or value.start_mark.index < key_node.end_mark.index
                children.append(
                    (value, name, node, key if key is not None else slot, flow, aliased)
                )
        elif isinstance(node, SequenceNode):
            before = node.start_mark.index
            for item in node.value:
                aliased = via_alias or item.start_mark.index < before
                children.append((item, None, None, key if key is not None else slot, flow, aliased))
                before = max(before, item.end_mark.index)
        stack.extend(reversed(children))
    if shared:
        # the anchor's own position is not an alias, but editing it changes the alias too
        for index in (first[node_id] for node_id in shared):
            entry = out[index]
            out[index] = Scalar(
                entry.node,
                entry.start,
                entry.end,
                entry.line,
                entry.key,
                entry.parent,
                entry.slot,
                entry.flow,
                True,
            )
    return out
