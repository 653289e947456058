"""GGUF, llama.cpp's file format for a model: metadata, a table of tensors, then their numbers.

    "GGUF", version 3, tensor count, metadata count
    metadata      key, value type, value         e.g. "llama.block_count" -> 30
    tensor table  name, dimensions (fastest first), data type, offset
    tensor data   each tensor at its offset from the start of the (aligned) data section

Big tensors are quantized: stored in blocks of 32 numbers that share a scale.

    Q8_0  float16 scale d, then 32 int8 values q           x = d * q         34 bytes per block
    Q4_1  float16 scale d, float16 minimum m, 16 bytes     x = d * q + m     20 bytes per block
          of 4-bit values q: the low halves of the bytes are numbers 0-15 of the block, the
          high halves numbers 16-31

read_gguf() parses the header and table; GGUF.tensor(name) dequantizes one tensor to float32 when
it is asked for, so a model can be built one tensor at a time.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# ggml's data types that this reader understands: name, numbers per block, bytes per block
TYPES = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
         8: ("Q8_0", 32, 34)}

# metadata value types -> struct format (8: string, 9: array are read by hand)
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
           11: "<q", 12: "<d"}


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # numpy order: slowest first (GGUF lists the fastest first)
    type_name: str
    offset: int  # from the start of the data section
    nbytes: int


class _Reader:
    """Reads little-endian values from a bytes-like object, moving forward."""

    def __init__(self, data: memoryview) -> None:
        self.data, self.pos = data, 0

    def scalar(self, fmt: str) -> int | float | bool:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.scalar("<Q")
        text = bytes(self.data[self.pos:self.pos + length]).decode("utf-8")
        self.pos += length
        return text

    def value(self, kind: int) -> object:
        if kind == 8:
            return self.string()
        if kind == 9:
            item_kind, count = self.scalar("<I"), self.scalar("<Q")
            return [self.value(item_kind) for _ in range(count)]
        return self.scalar(SCALARS[kind])


class GGUF:
    """A parsed GGUF file: ``metadata`` (dict), ``tensors`` (name -> TensorInfo), and the bytes."""

    def __init__(self, data: bytes | memoryview) -> None:
        data = memoryview(data)
        reader = _Reader(data)
        if bytes(data[:4]) != b"GGUF":
            raise ValueError("not a GGUF file: it does not start with the bytes 'GGUF'")
        reader.pos = 4
        self.version = reader.scalar("<I")
        if self.version not in (2, 3):
            raise ValueError(f"GGUF version {self.version} is not supported (2 and 3 are)")
        n_tensors, n_metadata = reader.scalar("<Q"), reader.scalar("<Q")
        self.metadata = {}
        for _ in range(n_metadata):
            key = reader.string()
            self.metadata[key] = reader.value(reader.scalar("<I"))
        self.tensors: dict[str, TensorInfo] = {}
        for _ in range(n_tensors):
            name = reader.string()
            dims = [reader.scalar("<Q") for _ in range(reader.scalar("<I"))]
            kind, offset = reader.scalar("<I"), reader.scalar("<Q")
            if kind not in TYPES:
                raise ValueError(f"tensor {name}: ggml type {kind} is not supported")
            type_name, per_block, block_bytes = TYPES[kind]
            count = int(np.prod(dims))
            self.tensors[name] = TensorInfo(name, tuple(reversed(dims)), type_name, offset,
                                            count // per_block * block_bytes)
        alignment = self.metadata.get("general.alignment", 32)
        self.data_start = -(-reader.pos // alignment) * alignment  # rounded up
        self.data = data

    def raw(self, name: str) -> memoryview:
        info = self.tensors[name]
        start = self.data_start + info.offset
        return self.data[start:start + info.nbytes]

    def tensor(self, name: str) -> np.ndarray:
        """The tensor as float32 with its numpy shape, dequantized if it is stored in blocks."""
        info = self.tensors[name]
        return dequantize(self.raw(name), info.type_name).reshape(info.shape)


def dequantize(raw: bytes | memoryview, type_name: str) -> np.ndarray:
    """Stored bytes -> float32 numbers, flat (n,)."""
    data = np.frombuffer(raw, dtype=np.uint8)
    if type_name == "F32":
        return data.view(np.float32).copy()
    if type_name == "F16":
        return data.view(np.float16).astype(np.float32)
    blocks = data.reshape(-1, TYPES_BY_NAME[type_name][2])  # (n_blocks, block_bytes)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    if type_name == "Q8_0":
        q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)  # (n_blocks, 32)
        return (d * q).reshape(-1)
    if type_name == "Q4_1":
        m = blocks[:, 2:4].copy().view(np.float16).astype(np.float32)
        nibbles = blocks[:, 4:]  # (n_blocks, 16)
        q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32)
        return (d * q + m).reshape(-1)
    if type_name == "Q4_0":  # scale only, values centred on 8
        nibbles = blocks[:, 2:]
        q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8
        return (d * q).reshape(-1)
    raise ValueError(f"cannot dequantize {type_name}")


TYPES_BY_NAME = {name: (kind, per_block, block_bytes)
                 for kind, (name, per_block, block_bytes) in TYPES.items()}


def read_gguf(source: str | Path | bytes) -> GGUF:
    """Parse a GGUF file from its path or its bytes (the tensors stay in those bytes)."""
    if isinstance(source, str | Path):
        source = Path(source).read_bytes()
    return GGUF(source)
