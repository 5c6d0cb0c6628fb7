"""The case page offers the case file in both forms, in the viewer's language, to its parties only."""

from __future__ import annotations

import io

from pypdf import PdfReader

from api_builders import feed_order, file_case
from console_client import Console


def test_the_case_page_offers_the_case_file_as_pdf_and_json(api):
    feed_order(api)
    case = file_case(api)
    buyer = Console(api, "buyer", "b-1")
    page = buyer.get(f"/console/after-sales/{case['id']}").text
    assert f"/console/after-sales/{case['id']}/case-file.pdf" in page and "case-file.json" in page
    pdf = buyer.get(f"/console/after-sales/{case['id']}/case-file.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    fonts = [str(f) for p in PdfReader(io.BytesIO(pdf.content)).pages for f in p["/Resources"]["/Font"].values()]
    assert fonts  # a font is embedded (tests/api/test_case_file.py checks which, and its glyphs)
    english = buyer.get(f"/console/after-sales/{case['id']}/case-file.pdf?lang=en")
    assert english.status_code == 200 and english.content != pdf.content  # the reader's language
    data = buyer.get(f"/console/after-sales/{case['id']}/case-file.json")
    assert data.status_code == 200 and data.json()["case"]["id"] == case["id"]


def test_another_buyer_gets_no_case_file(api):
    feed_order(api)
    case = file_case(api)
    stranger = Console(api, "buyer", "b-2")
    for suffix in ("case-file.pdf", "case-file.json"):
        assert stranger.get(f"/console/after-sales/{case['id']}/{suffix}").status_code == 404
