"""Comparing a contract's code on chain with the checkout's artifact before adopting a contract someone else
deployed. Pure functions of bytes.

Immutables (EIP712's cached domain separator, chain id and own address, hashed name and version) are written into
the runtime code at deployment: the compiler leaves each as ``PUSH32`` with 32 zero bytes in ``deployedBytecode``.
Those words are the only bytes allowed to differ; every other byte, the metadata hash at the end included (it
covers the sources and settings), must be equal.
"""

from __future__ import annotations

PUSH1, PUSH32 = 0x60, 0x7F


def immutable_slots(code: bytes) -> list[int]:
    """Offsets of the 32-byte arguments of ``PUSH32`` instructions whose argument is all zeros (walking the
    instructions, so push data is never read as an opcode)."""
    slots, pc = [], 0
    while pc < len(code):
        op = code[pc]
        if PUSH1 <= op <= PUSH32:
            width = op - PUSH1 + 1
            if op == PUSH32 and code[pc + 1 : pc + 33] == bytes(32):
                slots.append(pc + 1)
            pc += 1 + width
        else:
            pc += 1
    return slots


def same_code(on_chain: bytes, artifact: bytes) -> bool:
    """Whether ``on_chain`` is ``artifact`` with only immutable words filled in."""
    if len(on_chain) != len(artifact):
        return False
    masked_chain, masked_artifact = bytearray(on_chain), bytearray(artifact)
    for slot in immutable_slots(artifact):
        masked_chain[slot : slot + 32] = bytes(32)
        masked_artifact[slot : slot + 32] = bytes(32)
    return masked_chain == masked_artifact
