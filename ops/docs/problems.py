"""The problem `code` values the system answers, found in the code that raises them.

Read from the source (no import): `Problem(...)`/`problem_response(...)` calls and their
subclasses' `super().__init__(...)` with literal status, code and title; the services'
error tables (`ProblemSpec(...)` entries, or `(status, code, title, detail)` tuples); the
generic table of HTTP codes in shared/problems.py; domain errors carrying `code = "..."`
whose code the table takes from the error (with details from a `{code: detail}` table);
and the gateway's own answers (deploy/gateway/).
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PROBLEM_FACTORIES = {"Problem", "problem_response", "ProblemSpec"}


@dataclass(frozen=True)
class ProblemCode:
    """One (code, status) pair, with its title, a detail and where it comes from."""

    code: str
    status: int
    title: str
    detail: str
    source: str


def _literal(node: ast.AST | None) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f-strings: keep the literal parts
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "…" for v in node.values)
    return None


def _from_error(node: ast.AST) -> bool:
    """A code taken from the error: `error.code`, or a function of the error."""
    return (isinstance(node, ast.Attribute) and node.attr == "code") or isinstance(node, ast.Lambda)


def _where(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[1] if parts[0] == "services" else "every service"


class _Finder(ast.NodeVisitor):
    def __init__(self, where: str) -> None:
        self.where = where
        self.found: list[ProblemCode] = []
        # (status, title) of problems whose code comes from a domain error's `code`.
        self.dynamic: list[tuple[int, str]] = []
        self.class_codes: list[str] = []
        self.texts: dict[str, str] = {}
        self._classes: list[ast.ClassDef] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._classes.append(node)
        for statement in node.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in statement.targets
            ):
                value = _literal(statement.value)
                if isinstance(value, str):
                    self.class_codes.append(value)
        self.generic_visit(node)
        self._classes.pop()

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            k, v = _literal(key), _literal(value)
            if isinstance(k, str) and isinstance(v, str):
                self.texts[k] = v
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if self._is_problem(node) and len(node.args) >= 3:
            status, code, title = (_literal(a) for a in node.args[:3])
            detail = _literal(node.args[3]) if len(node.args) > 3 else None
            if isinstance(status, int) and isinstance(title, str):
                if isinstance(code, str):
                    self._add(code, status, title, detail)
                elif _from_error(node.args[1]):
                    self.dynamic.append((status, title))
        self.generic_visit(node)

    def visit_Tuple(self, node: ast.Tuple) -> None:
        values = [_literal(e) for e in node.elts]
        if (
            len(values) == 4
            and isinstance(values[0], int)
            and 400 <= values[0] < 600
            and all(isinstance(v, str) for v in values[1:])
        ):
            self._add(str(values[1]), values[0], str(values[2]), values[3])
        self.generic_visit(node)

    def _is_problem(self, node: ast.Call) -> bool:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in PROBLEM_FACTORIES:
            return True
        return name == "__init__" and any(
            isinstance(b, ast.Name) and b.id == "Problem"
            for c in self._classes[-1:]
            for b in c.bases
        )

    def _add(self, code: str, status: int, title: str, detail: object) -> None:
        text = detail if isinstance(detail, str) else ""
        self.found.append(ProblemCode(code, status, title, text, self.where))


def _http_codes(root: Path) -> list[ProblemCode]:
    """shared/problems.py's table of codes for FastAPI's own HTTP errors."""
    tree = ast.parse((root / "shared" / "problems.py").read_text())
    for node in ast.walk(tree):
        target = getattr(node, "target", None) or next(iter(getattr(node, "targets", [])), None)
        if isinstance(target, ast.Name) and target.id == "_HTTP_CODES":
            table = getattr(node, "value", None)
            if isinstance(table, ast.Dict):
                return [
                    ProblemCode(
                        str(_literal(v)),
                        int(str(_literal(k))),
                        str(_literal(v)).replace("_", " ").capitalize(),
                        "",
                        "every service",
                    )
                    for k, v in zip(table.keys, table.values, strict=True)
                ]
    return []


def _gateway(root: Path) -> list[ProblemCode]:
    """The problems the gateway answers itself (deploy/gateway/routes.conf)."""
    routes = (root / "deploy" / "gateway" / "routes.conf").read_text()
    found = []
    for status, body in re.findall(r"return ([45]\d\d) '(\{.*?\})';", routes):
        fields = dict(re.findall(r'"(\w+)":"([^"]*)"', body))
        found.append(
            ProblemCode(fields["code"], int(status), fields["title"], fields["detail"], "gateway")
        )
    return found


def problem_codes(root: Path) -> list[ProblemCode]:
    """Every (code, status) the system answers, with a title, sorted by code and status."""
    found = _http_codes(root) + _gateway(root)
    for package in ("shared", "services"):
        for path in sorted((root / package).rglob("*.py")):
            finder = _Finder(_where(path, root))
            finder.visit(ast.parse(path.read_text(), str(path)))
            found += finder.found
            found += _dynamic(root, path, finder)
    unique: dict[tuple[str, int, str], ProblemCode] = {}
    for p in found:
        unique.setdefault((p.code, p.status, p.source), p)
    return sorted(unique.values(), key=lambda p: (p.code, p.status, p.source))


def _dynamic(root: Path, path: Path, finder: _Finder) -> list[ProblemCode]:
    """Codes of a service's domain errors, raised through `Problem(status, error.code, ...)`."""
    if not finder.dynamic:
        return []
    package = path.parent
    codes: list[str] = []
    texts: dict[str, str] = {}
    for sibling in sorted(package.rglob("*.py")):
        other = _Finder(finder.where)
        other.visit(ast.parse(sibling.read_text(), str(sibling)))
        codes += other.class_codes
        texts.update(other.texts)
    return [
        ProblemCode(code, status, title, texts.get(code, ""), finder.where)
        for status, title in finder.dynamic
        for code in codes
    ]
