"""Generate Python protobuf, gRPC and typing stubs from proto/ into libs/contracts/shopee.

Run by the build (`make proto`, part of `make setup`); the output is git-ignored and never
hand-edited. With `--check`, only reports whether the generated code is current.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PROTO_ROOT = PROJECT_ROOT / "proto"
OUTPUT_ROOT = PROJECT_ROOT / "libs" / "contracts"
STAMP = OUTPUT_ROOT / "shopee" / ".proto-digest"


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def digest(files: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in files:
        sha.update(str(path.relative_to(PROTO_ROOT)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def generate(files: list[Path]) -> None:
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={OUTPUT_ROOT}",
        f"--mypy_out={OUTPUT_ROOT}",
        f"--grpc_python_out={OUTPUT_ROOT}",
        f"--mypy_grpc_out={OUTPUT_ROOT}",
        *[str(path.relative_to(PROTO_ROOT)) for path in files],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed: see the messages above")
    # Generated modules import each other as packages; give every folder an __init__.py.
    for path in files:
        folder = OUTPUT_ROOT / path.relative_to(PROTO_ROOT).parent
        while folder != OUTPUT_ROOT:
            (folder / "__init__.py").touch()
            (folder / "py.typed").touch()
            folder = folder.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    options = parser.parse_args()
    files = proto_files()
    current = digest(files)
    is_current = STAMP.exists() and STAMP.read_text().strip() == current
    if options.check:
        if not is_current:
            print("generated code is stale: run `make proto`", file=sys.stderr)
            raise SystemExit(1)
        return
    generate(files)
    STAMP.write_text(current + "\n")
    print(f"generated Python code for {len(files)} proto files into {OUTPUT_ROOT}/shopee")


if __name__ == "__main__":
    main()
