"""Tests for the offline world map and its SVG rendering."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from importlib import resources

import pycountry
import pytest

from indivisible.web.worldmap import load_map, map_codes, render_svg

SVG = "{http://www.w3.org/2000/svg}"
REGION = ("KAZ", "RUS", "CHN", "IND", "AFG", "IRN", "PAK", "UZB", "TJK", "KGZ", "BLR", "ARM")


def parse(svg: str) -> ET.Element:
    # Parsing our own output, so the XML-bomb concern behind S314 does not apply.
    return ET.fromstring(svg)  # noqa: S314


def paths(svg: str) -> list[ET.Element]:
    return parse(svg).findall(f"{SVG}path")


def test_every_iso_feature_has_a_valid_alpha3_code() -> None:
    iso = [f for f in load_map().features if f.iso]
    assert len(iso) > 150
    for feature in iso:
        assert re.fullmatch(r"[A-Z]{3}", feature.code), feature.code
        assert pycountry.countries.get(alpha_3=feature.code) is not None, feature.code


def test_codes_are_unique_and_non_iso_features_are_marked() -> None:
    features = load_map().features
    codes = [f.code for f in features]
    assert len(codes) == len(set(codes))
    for feature in features:
        if not feature.iso:
            assert feature.code.startswith("X-")
            assert feature.code not in map_codes()


@pytest.mark.parametrize("code", REGION)
def test_region_states_are_present(code: str) -> None:
    assert code in map_codes()


def test_path_data_is_non_empty_svg_path() -> None:
    for feature in load_map().features:
        assert feature.d.startswith("M"), feature.code
        assert re.fullmatch(r"[MlLz0-9. \-]+", feature.d), feature.code
        assert len(feature.d) > 10, feature.code


def test_no_edge_jumps_across_the_map() -> None:
    # A ring left uncut at the antimeridian (Russia, Fiji) shows up as one
    # edge running the width of the map.
    width = float(load_map().view_box.split()[2])
    number = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
    for feature in load_map().features:
        for run in re.findall(r"l([^Mz]*)", feature.d):
            dxs = [float(n) for n in number.findall(run)][::2]
            assert max(abs(dx) for dx in dxs) < width / 4, feature.code


def test_json_metadata_names_its_source() -> None:
    raw = json.loads(
        resources.files("indivisible.web.static").joinpath("worldmap.json").read_text("utf-8")
    )
    assert raw["built_from"].startswith("world-atlas@2")
    assert "public domain" in raw["licence"]
    assert re.fullmatch(r"0 0 [0-9.]+ [0-9.]+", raw["viewBox"])


def test_render_fills_exactly_the_given_states() -> None:
    fills = {"KAZ": "#dc2626", "RUS": "#2563eb", "CHN": "#16a34a"}
    svg = render_svg(fills, default_fill="#cccccc")
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("class") == "worldmap"
    rendered = paths(svg)
    assert len(rendered) == len(load_map().features)
    seen = set()
    for path in rendered:
        code = path.get("data-state")
        assert code is not None
        seen.add(code)
        assert path.get("fill") == fills.get(code, "#cccccc"), code
        assert path.get("d")
    assert set(fills) <= seen


def test_unknown_codes_and_non_iso_features_keep_the_default() -> None:
    non_iso = [f.code for f in load_map().features if not f.iso]
    fills = {"ZZZ": "red", **dict.fromkeys(non_iso, "red")}
    assert {p.get("fill") for p in paths(render_svg(fills))} == {"#e5e7eb"}


def test_titles_default_to_names_and_can_be_overridden() -> None:
    svg = render_svg({}, titles={"KAZ": "Kazakhstan: member of 4 organisations"})
    titles = {p.get("data-state"): p.findtext(f"{SVG}title") for p in paths(svg)}
    assert titles["KAZ"] == "Kazakhstan: member of 4 organisations"
    assert titles["RUS"] == "Russian Federation"
    assert titles["IRN"] == "Iran"


def test_everything_is_escaped() -> None:
    nasty = "<script>alert(\"x\")</script> & 'q'"
    svg = render_svg(
        {"KAZ": '"><script>'},
        titles={"RUS": nasty},
        css_class='a" onload="x',
        default_fill="<b>",
    )
    assert "<script>" not in svg
    assert "<b>" not in svg
    root = parse(svg)
    assert root.get("class") == 'a" onload="x'
    assert root.get("onload") is None
    by_code = {p.get("data-state"): p for p in paths(svg)}
    assert by_code["RUS"].findtext(f"{SVG}title") == nasty
    assert by_code["KAZ"].get("fill") == '"><script>'
    assert by_code["CHN"].get("fill") == "<b>"


def test_ampersand_in_a_name_is_escaped() -> None:
    svg = render_svg({}, titles={"TTO": "Trinidad & Tobago"})
    assert "Trinidad &amp; Tobago" in svg
