#!/usr/bin/python3
"""Cross-check of the kit's INI reader (the AWS config and credentials file
dialect) against Python's configparser.RawConfigParser, which botocore uses
to read those files.

Generates random documents (sections, "key = value" and "key: value" lines
with odd spacing and case, full-line comments, blank lines, continuation
lines, CRLF endings) and, in some, exactly one defect (a line that is
neither, a key before any section, a duplicate section or key, an empty
key). Both parsers must accept or refuse the same documents; on refusal they
must name the same line, and on acceptance give the same sections, keys and
values. The kit is deliberately stricter than configparser in a few places
(text after ']', "[a=b" read as a key, [DEFAULT]); those are not generated.
"""
import configparser
import json
import os
import random
import subprocess
import sys

TOOL = os.path.join(os.getcwd(), "tests", "kit", "ini_tool")
KEYCH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
VALCH = KEYCH + " /+=:#;.-,'\"[]"


def word(r, ch, lo, hi):
    return "".join(r.choice(ch) for _ in range(r.randint(lo, hi)))


def gen(r):
    lines = []
    nl = "\r\n" if r.random() < 0.2 else "\n"
    sections = []
    defect = r.choice([None, None, None, "bogus", "nosection", "dupsection", "dupkey", "emptykey"])
    if defect == "nosection":
        lines.append(f"{word(r, KEYCH, 1, 6)} = x")
    for _ in range(r.randint(0, 4)):
        name = r.choice(["default", "profile " + word(r, KEYCH, 1, 6), word(r, KEYCH, 1, 8)])
        if name in sections:
            continue
        sections.append(name)
        lines.append(r.choice(["", " ", "  "]) + f"[{name}]")
        keys = []
        ind = r.choice(["", "", "  "])
        for _ in range(r.randint(0, 5)):
            x = r.random()
            if x < 0.12:
                lines.append(r.choice(["", "   ", "\t"]))
                continue
            if x < 0.24:
                lines.append(r.choice(["#", ";", "  #", "\t;"]) + word(r, VALCH, 0, 12))
                continue
            k = word(r, KEYCH, 1, 10)
            if k.lower() in keys:
                continue
            keys.append(k.lower())
            d = r.choice(["=", ":", " = ", " =", "= ", "  :  ", "\t=\t"])
            v = word(r, VALCH, 0, 14).strip() if r.random() < 0.9 else ""
            lines.append(f"{ind}{k}{d}{v}{r.choice(['', ' ', '  '])}")
            if r.random() < 0.2:
                for _ in range(r.randint(1, 3)):
                    if r.random() < 0.3:
                        lines.append("")
                    lines.append(ind + r.choice(["  ", "    ", "\t"]) + word(r, VALCH, 1, 10).strip() + "x")
        if defect == "dupkey" and keys:
            lines.append(f"{r.choice(keys).upper()} = again")
            defect = "done"
        if defect == "bogus" and r.random() < 0.5:
            lines.append(word(r, KEYCH, 1, 10) + " " + word(r, KEYCH, 1, 5))
            defect = "done"
        if defect == "emptykey":
            lines.append(" = value")
            defect = "done"
    if defect == "dupsection" and sections:
        lines.append(f"[{r.choice(sections)}]")
    if defect == "bogus":
        lines.append("[x]")
        lines.append("no delimiter here")
    return nl.join(lines) + (nl if r.random() < 0.7 else "")


def configparser_view(text):
    cp = configparser.RawConfigParser()
    try:
        cp.read_string(text, source="<t>")
    except configparser.DuplicateSectionError as e:
        return {"error": str(e), "line": e.lineno}
    except configparser.DuplicateOptionError as e:
        return {"error": str(e), "line": e.lineno}
    except configparser.MissingSectionHeaderError as e:
        return {"error": str(e), "line": e.lineno}
    except configparser.ParsingError as e:
        return {"error": str(e), "line": e.errors[0][0]}
    return {"sections": [[s, [[k, v] for k, v in cp.items(s, raw=True)]] for s in cp.sections()]}


def main():
    seed = int(os.environ.get("INI_SEED", "7"))
    n = int(os.environ.get("INI_CASES", "2000"))
    r = random.Random(seed)
    docs = [gen(r) for _ in range(n)]
    inp = "".join(json.dumps({"text": d}) + "\n" for d in docs)
    out = subprocess.run([TOOL], input=inp.encode(), stdout=subprocess.PIPE, check=True).stdout
    kit = [json.loads(x) for x in out.decode().splitlines()]
    bad = 0
    refused = 0
    for d, k in zip(docs, kit):
        c = configparser_view(d)
        if "error" in c:
            refused += 1
            same = "error" in k and k["line"] == c["line"]
        else:
            same = k == c
        if not same:
            bad += 1
            if bad <= 5:
                print("--- document", json.dumps(d))
                print("configparser:", json.dumps(c))
                print("kit:         ", json.dumps(k))
    print(f"ini vs configparser: seed {seed}, {n} documents ({refused} refused by both or one), "
          f"{bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
