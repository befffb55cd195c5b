"""What a GraphQL document asks for, measured before it is validated or run, in time linear in its size.

A fragment may be spread many times, and fragments may spread each other: 30
fragments that each spread the next one twice expand to 2^30 fields. Inlining
them to measure would take as long as running them, so every measure here is
computed once per fragment (in dependency order, without recursion across
fragments) and combined arithmetically at each spread. A fragment that spreads
itself, directly or not, measures as empty here; validation reports the cycle.

- ``Shape``: depth, fields after inlining every spread, the most fields with one
  response name in one selection set (graphql-core's overlap check compares
  those pairwise), and whether ``__schema``/``__type`` appear anywhere.
- ``cost``: the fields a query makes the server resolve, estimated from page
  sizes (docs/api.md, "Query cost"). It depends on variables (``first: $n``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLList, GraphQLNonNull,
    GraphQLSchema, InlineFragmentNode, IntValueNode, OperationDefinitionNode, SelectionSetNode, VariableNode,
    get_named_type, is_composite_type,
)

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
PAGE_ARGUMENTS = ("first", "last", "limit")  # a list field's size: connections take first/last, lineage limit


@dataclass
class Shape:
    depth: int = 0
    fields: int = 0
    repeats: int = 0
    introspects: bool = False
    names: Counter[str] = field(default_factory=Counter)  # response names at this level, spreads inlined

    def add(self, other: Shape) -> None:
        """Fold in a fragment (inline or spread) selected at the same level."""
        self.depth = max(self.depth, other.depth)
        self.fields += other.fields
        self.repeats = max(self.repeats, other.repeats)
        self.introspects |= other.introspects
        self.names.update(other.names)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _spreads(selection_set: SelectionSetNode | None) -> Iterator[str]:
    """Names of the fragments spread anywhere below ``selection_set`` (within one definition)."""
    stack = [selection_set] if selection_set else []
    while stack:
        for sel in stack.pop().selections:
            if isinstance(sel, FragmentSpreadNode):
                yield sel.name.value
            elif (below := getattr(sel, "selection_set", None)) is not None:
                stack.append(below)


def in_dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Fragments ordered so that each comes after every fragment it spreads; those on a cycle are left out."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done, 3: on or above a cycle
    for start in fragments:
        if start in state:
            continue
        path = [(start, iter(set(_spreads(fragments[start].selection_set))))]
        state[start] = 1
        while path:
            name, pending = path[-1]
            for spread in pending:
                if spread not in fragments:
                    continue  # unknown fragment: validation says so
                seen = state.get(spread)
                if seen is None:
                    state[spread] = 1
                    path.append((spread, iter(set(_spreads(fragments[spread].selection_set)))))
                    break
                if seen in (1, 3):
                    state[name] = 3  # spreads itself, or spreads something that does
            else:
                path.pop()
                if state[name] == 1:
                    state[name] = 2
                    order.append(name)
                elif path:
                    state[path[-1][0]] = 3
    return order


def _shape(selection_set: SelectionSetNode, measured: Mapping[str, Shape]) -> Shape:
    shape = Shape()
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            shape.names[(sel.alias or sel.name).value] += 1
            child = _shape(sel.selection_set, measured) if sel.selection_set else Shape()
            shape.depth = max(shape.depth, 1 + child.depth)
            shape.fields += 1 + child.fields
            shape.repeats = max(shape.repeats, child.repeats)
            shape.introspects |= child.introspects or sel.name.value in INTROSPECTION_FIELDS
        elif isinstance(sel, InlineFragmentNode):
            shape.add(_shape(sel.selection_set, measured))
        elif isinstance(sel, FragmentSpreadNode) and (spread := measured.get(sel.name.value)) is not None:
            shape.add(spread)
    shape.repeats = max(shape.repeats, max(shape.names.values(), default=0))
    return shape


def shapes(document: DocumentNode) -> dict[OperationDefinitionNode, Shape]:
    """Each operation's shape with every fragment inlined: work linear in the document, whatever it expands to."""
    fragments = fragments_of(document)
    measured: dict[str, Shape] = {}
    for name in in_dependency_order(fragments):
        measured[name] = _shape(fragments[name].selection_set, measured)
    return {d: _shape(d.selection_set, measured) for d in document.definitions
            if isinstance(d, OperationDefinitionNode)}


# --------------------------------------------------------------------------------------------------------------
# Cost.

@dataclass(frozen=True)
class Sizes:
    """How big a list is taken to be: the page/limit argument, capped where the server caps it."""

    default_page: int  # a connection asked for without `first`
    max_page: int  # `first`/`last` above it are refused when the query runs
    max_limit: int  # the largest `limit` any list field accepts
    default_list: int  # a list field with no size argument anywhere (aliases, links, members, ...)


HUGE = 10**18


def _int_literal(node: IntValueNode) -> int:
    """An integer literal's value; one too long to convert (Python refuses 4,300 digits) is just huge, and capped
    like any other oversized page."""
    return int(node.value) if len(node.value) <= 18 else HUGE


def _argument(node: FieldNode, name: str, variables: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    for arg in node.arguments or ():
        if arg.name.value == name:
            if isinstance(arg.value, IntValueNode):
                return _int_literal(arg.value)
            if isinstance(arg.value, VariableNode):
                var = arg.value.name.value
                return variables.get(var, defaults.get(var))
            return None
    return None


def _page(node: FieldNode, field_def: Any, sizes: Sizes, variables: Mapping[str, Any],
          defaults: Mapping[str, Any]) -> int | None:
    """The size this field asks for, or None when it takes no size argument."""
    for name in PAGE_ARGUMENTS:
        if name not in field_def.args:
            continue
        value = _argument(node, name, variables, defaults)
        if not _is_int(value):
            value = field_def.args[name].default_value  # Undefined or None when the schema has no default
        if not _is_int(value):
            return sizes.default_page
        return max(0, min(value, sizes.max_limit if name == "limit" else sizes.max_page))
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


Linear = tuple[int, int]  # (a, b): costs a + b * n, n the size of the lists this level's own list fields take


class Costing:
    """The cost of one document under one set of variables; fragments are costed once each."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any], sizes: Sizes):
        self.schema = schema
        self.sizes = sizes
        self.variables = variables
        self.defaults: dict[str, Any] = {}
        self.fragments = fragments_of(document)
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        for op in self.operations:
            for var in op.variable_definitions or ():
                if isinstance(var.default_value, IntValueNode):
                    self.defaults[var.variable.name.value] = _int_literal(var.default_value)
        self.measured: dict[str, Linear] = {}
        for name in in_dependency_order(self.fragments):
            frag = self.fragments[name]
            self.measured[name] = self._level(frag.selection_set, schema.get_type(frag.type_condition.name.value))

    def _n(self, pending: int | None) -> int:
        return self.sizes.default_list if pending is None else pending

    def _level(self, selection_set: SelectionSetNode, parent: Any) -> Linear:
        """This level's cost as a + b * n: n is the size its list fields take from the field above (a page)."""
        a = b = 0
        fields: Mapping[str, Any] = getattr(parent, "fields", {}) if parent is not None else {}
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                field_def = fields.get(sel.name.value)
                if sel.selection_set is None:
                    a += 1
                    continue
                if field_def is None:  # unknown field or __schema/__type: validation or introspection rules decide
                    ca, cb = self._level(sel.selection_set, None)
                    a += 1 + ca + cb * self._n(None)
                    continue
                named = get_named_type(field_def.type)
                page = _page(sel, field_def, self.sizes, self.variables, self.defaults)
                ca, cb = self._level(sel.selection_set, named if is_composite_type(named) else None)
                if _is_list(field_def.type):
                    each = ca + cb * self._n(None)
                    if page is not None:
                        a += 1 + page * each  # the list sizes itself: Run.metrics(limit:)
                    else:
                        a += 1
                        b += each  # sized by the field above: `edges` of `versions(first:)`
                else:
                    a += 1 + ca + cb * self._n(page)  # a connection or graph passes its page to its lists
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                ca, cb = self._level(sel.selection_set, self.schema.get_type(cond.name.value) if cond else parent)
                a, b = a + ca, b + cb
            elif isinstance(sel, FragmentSpreadNode) and (spread := self.measured.get(sel.name.value)) is not None:
                a, b = a + spread[0], b + spread[1]
        return a, b

    def of(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        a, b = self._level(operation.selection_set, root)
        return a + b * self._n(None)


def page_variables(document: DocumentNode) -> frozenset[str]:
    """Variables a document passes to a size argument: the cost depends on their values, nothing else does."""
    names: set[str] = set()
    stack = [d.selection_set for d in document.definitions
             if isinstance(d, (OperationDefinitionNode, FragmentDefinitionNode))]
    while stack:
        for sel in stack.pop().selections:
            if isinstance(sel, FieldNode):
                names.update(a.value.name.value for a in sel.arguments or ()
                             if a.name.value in PAGE_ARGUMENTS and isinstance(a.value, VariableNode))
            if (below := getattr(sel, "selection_set", None)) is not None:
                stack.append(below)
    return frozenset(names)


def costs(schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any],
          sizes: Sizes) -> dict[OperationDefinitionNode, int]:
    costing = Costing(schema, document, variables, sizes)
    return {op: costing.of(op) for op in costing.operations}

