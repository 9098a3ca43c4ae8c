"""CPU cost of the two per-write steps the attribute mapping touches, in-process (no server, no DB).

    python -m bench.write_path_cpu LABEL

Times ``clean_user`` (validation of Entra's POST payload) and ``apply_document``
(storing it on a learner row and extracting the Smart Assign columns) over the
fixture ``tests/fixtures/entra/create_user.json``; prints the best of 5 rounds of
3,000 calls each, in microseconds per call. Run it in two trees (e.g. a
``git archive`` of main and this branch) to compare them on the same machine.
"""

import inspect
import json
import sys
import timeit
from pathlib import Path

from models import Learner
from service.scim.users.mapping import apply_document
from service.scim.users.schema import clean_user

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "entra" / "create_user.json"


def main(label):
    body = json.loads(FIXTURE.read_text())
    doc, _ = clean_user(body)
    learner = Learner(company_id=1)
    # main's apply_document has no mapping parameter; this branch's reads the defaults with None.
    kw = {"mapping": None} if "mapping" in inspect.signature(apply_document).parameters else {}
    n = 3000
    clean = min(timeit.repeat(lambda: clean_user(body), number=n, repeat=5)) / n * 1e6
    apply = min(timeit.repeat(lambda: apply_document(learner, doc, **kw), number=n, repeat=5)) / n * 1e6
    print(f"{label}: clean_user {clean:.1f} us, apply_document {apply:.1f} us")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "this tree")
