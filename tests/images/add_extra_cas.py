#!/usr/bin/env python3
"""Split a PEM bundle and keep the certificates the system store lacks.

usage: add_extra_cas.py BUNDLE DEST_DIR [SYSTEM_BUNDLE]

Each certificate of BUNDLE that is not already in SYSTEM_BUNDLE (default Debian's
/etc/ssl/certs/ca-certificates.crt) is written to DEST_DIR/extra-NNN.crt, ready for
update-ca-certificates. Prints how many were added.
"""
import os
import re
import sys

PEM = re.compile(
    r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL
)


def certs(path):
    """Return the PEM blocks of a file (none when it does not exist)."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return PEM.findall(handle.read())
    except FileNotFoundError:
        return []


def fingerprint(block):
    """The certificate's base64 body with all white space removed."""
    return "".join(block.split())


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    bundle, dest = argv[1], argv[2]
    system = argv[3] if len(argv) == 4 else "/etc/ssl/certs/ca-certificates.crt"
    known = {fingerprint(block) for block in certs(system)}
    os.makedirs(dest, exist_ok=True)
    added = 0
    for block in certs(bundle):
        key = fingerprint(block)
        if key in known:
            continue
        known.add(key)
        added += 1
        name = os.path.join(dest, f"extra-{added:03d}.crt")
        with open(name, "w", encoding="ascii") as out:
            out.write(block.strip() + "\n")
    print(f"extra CA certificates added: {added}")


if __name__ == "__main__":
    main(sys.argv)
