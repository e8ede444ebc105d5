"""Re-make owasp-xss-filter-evasion.txt from the OWASP cheat sheet (run by hand; the tests read the result).

    python tests/hostile/extract_owasp.py XSS_Filter_Evasion_Cheat_Sheet.md > tests/hostile/owasp-xss-filter-evasion.txt

Takes every inline code span and fenced code block of the sections "Tests" and "Methods to
Bypass WAF" that holds markup or a script URL, unchanged, in the order of the cheat sheet.
"""

import re
import sys

SOURCE = ("OWASP Cheat Sheet Series, XSS Filter Evasion Cheat Sheet, "
          "https://github.com/OWASP/CheatSheetSeries/blob/da4c967e9de854727f72bb2748dd98f76c888b06/"
          "cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.md")
WANTED = re.compile(r"<|javascript|vbscript|script:", re.IGNORECASE)


def vectors(text: str) -> list[str]:
    tests = text.split("\n## Tests", 1)[1]
    tests = tests.split("\n## Character Escape Sequences", 1)[0] + tests.split("\n## Methods to Bypass WAF", 1)[1]
    out = []
    for match in re.finditer(r"^(`{3,})[^\n]*\n(.*?)\n\1|`([^`\n]+)`", tests, re.MULTILINE | re.DOTALL):
        vector = match.group(2) if match.group(2) is not None else match.group(3)
        if WANTED.search(vector) and vector not in out:
            out.append(vector)
    return out


if __name__ == "__main__":
    found = vectors(open(sys.argv[1], encoding="utf-8").read())
    print(f"# {len(found)} vectors from the {SOURCE}")
    print("# Licence: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), as the cheat sheet; this file is")
    print("# an unmodified extract (see extract_owasp.py), shared under the same licence. Entries are separated by")
    print("# lines of '%%'; each entry is one vector exactly as the cheat sheet shows it.")
    for vector in found:
        print("%%")
        print(vector)
