"""The product speaks to its users: code, docs and tests name the field guide or the design,
never the project's internal bookkeeping (guide numbers, tracker numbers)."""
import re
import subprocess

from conftest import REPO

# "seed 000", "seed000", "seed 4", "issue 17", "issue #17", "task 3"
BOOKKEEPING = re.compile(r"seed[ _-]?00[0-9](?![0-9])|\bseed [0-4]\b|\b(issue|task) ?#?\d+\b", re.I)
# citations of other projects' trackers name the project: fine
CITATION = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:'s)? issue|github\.com/", re.I)


def tracked_text_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    for name in out.stdout.decode().split("\0"):
        path = REPO / name
        if not name or name == "test/unit/test_product_wording.py" or not path.is_file():
            continue
        try:
            yield name, path.read_text()
        except UnicodeDecodeError:
            continue


def offending(text):
    return [(n, line.strip()[:120]) for n, line in enumerate(text.splitlines(), 1)
            if BOOKKEEPING.search(line) and not CITATION.search(line)]


def test_no_bookkeeping_references_in_code_docs_or_tests():
    found = {name: hits for name, text in tracked_text_files() if (hits := offending(text))}
    assert found == {}


def test_the_check_catches_what_it_is_for():
    assert offending("# built as seed 000 asks") and offending("see issue #17")
    assert offending("fixtures/seed002_cluster.conf")
    assert not offending("the Pacemaker/DRBD guide") and not offending("seed disk (labseed)")
    assert not offending("ClusterLabs/ha_cluster_exporter issue #25")
