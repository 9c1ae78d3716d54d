"""Model families on both sides: the golden request bodies against client and emulator, schemas and
their shortcut, structured outputs."""
