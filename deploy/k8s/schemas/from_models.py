r"""Rebuild a CRD's openAPIV3Schema from the pydantic models cloudcoil generates from it.

The cloudcoil-models-* wheels on PyPI (Apache-2.0) are generated from the upstream CRDs
and keep every field, type, enum, bound and required list; they need Python 3.14 and
cloudcoil to import, so this reads their source instead. Run by hand (no download here):

    pip download --no-deps --python-version 3.14 --only-binary=:all: \
        cloudcoil-models-keda==2.20.2.1 -d <scratch> && unzip -q <scratch>/*.whl -d <scratch>/x
    python deploy/k8s/schemas/from_models.py <scratch>/x/cloudcoil/models/keda/v1alpha1.py \
        keda.sh v1alpha1 ScaledObject scaledobjects "KEDA v2.20.2" \
        > deploy/k8s/schemas/keda.sh_scaledobjects.yaml
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import yaml

SCALARS = {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}
BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


class Models:
    def __init__(self, source: str) -> None:
        tree = ast.parse(source)
        self.classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}

    def fields(self, name: str) -> list[tuple[str, ast.expr, bool]]:
        """(alias, annotation, required) per field, in source order."""
        out = []
        for stmt in self.classes[name].body:
            if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
                continue
            if stmt.target.id.startswith("__"):
                continue
            alias = alias_of(stmt.annotation) or stmt.target.id
            out.append((alias, stmt.annotation, stmt.value is None))
        return out

    def schema(self, node: ast.expr) -> dict[str, Any]:
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "Annotated":
            assert isinstance(node.slice, ast.Tuple)
            inner, *meta = node.slice.elts
            out = self.schema(inner)
            for m in meta:
                apply_field(out, m)
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            options = [o for o in flatten_union(node) if ast.unparse(o) != "None"]
            if len(options) == 1:
                return self.schema(options[0])
            schemas = [self.schema(o) for o in options]
            if sorted(s.get("type", "") for s in schemas) == ["integer", "string"]:
                out = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
                out["x-kubernetes-int-or-string"] = True
                patterns = {s["pattern"] for s in schemas if "pattern" in s}
                if len(patterns) == 1:
                    out["pattern"] = patterns.pop()
                return out
            raise ValueError(f"union {ast.unparse(node)}")
        if isinstance(node, ast.Subscript):
            head = ast.unparse(node.value)
            if head == "Literal":
                values = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
                enum = [ast.literal_eval(v) for v in values]
                return {"type": SCALARS[type(enum[0]).__name__], "enum": enum}
            if head == "list":
                return {"type": "array", "items": self.schema(node.slice)}
            if head == "dict":
                assert isinstance(node.slice, ast.Tuple)
                value = node.slice.elts[1]
                if ast.unparse(value) == "Any":
                    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                return {"type": "object", "additionalProperties": self.schema(value)}
        text = ast.unparse(node)
        if text in SCALARS:
            return {"type": SCALARS[text]}
        if text == "AwareDatetime":
            return {"type": "string", "format": "date-time"}
        if text in {"ObjectMeta", "Any"}:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        if text in self.classes:
            return self.object(text)
        raise ValueError(f"annotation {text}")

    def object(self, name: str) -> dict[str, Any]:
        bases = [ast.unparse(b) for b in self.classes[name].bases]
        if bases and bases[0].startswith("RootModel"):
            [(_, annotation, _)] = [f for f in self.fields(name) if f[0] == "root"]
            return self.schema(annotation)
        fields = self.fields(name)
        out: dict[str, Any] = {"type": "object"}
        if fields:
            out["properties"] = {alias: self.schema(ann) for alias, ann, _ in fields}
        else:
            out["x-kubernetes-preserve-unknown-fields"] = True
        required = [alias for alias, _, req in fields if req]
        if required:
            out["required"] = required
        return out


def flatten_union(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return flatten_union(node.left) + flatten_union(node.right)
    return [node]


def alias_of(annotation: ast.expr) -> str | None:
    for call in ast.walk(annotation):
        if isinstance(call, ast.Call) and ast.unparse(call.func) == "Field":
            for kw in call.keywords:
                if kw.arg == "alias":
                    return str(ast.literal_eval(kw.value))
    return None


def apply_field(schema: dict[str, Any], meta: ast.expr) -> None:
    if not (isinstance(meta, ast.Call) and ast.unparse(meta.func) == "Field"):
        return
    for kw in meta.keywords:
        if kw.arg in BOUNDS:
            schema[BOUNDS[kw.arg]] = ast.literal_eval(kw.value)
        elif kw.arg in {"min_length", "max_length"}:
            size = "Items" if schema.get("type") == "array" else "Length"
            schema[("min" if kw.arg == "min_length" else "max") + size] = ast.literal_eval(kw.value)
        elif kw.arg == "pattern":
            schema["pattern"] = ast.literal_eval(kw.value)


def crd(models: Models, group: str, version: str, kind: str, plural: str) -> dict[str, Any]:
    schema = models.object(kind)
    props = schema["properties"]
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = {"type": "object"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def main(argv: list[str]) -> int:
    path, group, version, kind, plural, upstream = argv
    models = Models(Path(path).read_text())
    sys.stdout.write(
        f"# openAPIV3Schema of the {plural}.{group} CRD of {upstream}\n"
        "# (Apache-2.0: NOTICE and LICENSE beside this file), rebuilt by from_models.py.\n"
    )
    yaml.safe_dump(crd(models, group, version, kind, plural), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
