"""Geography of areas of application: territories and border zones from Natural Earth 1:50m."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from indivisible.cbm import geography
from indivisible.cbm.geography import Area, in_border_zone, in_territories

# The Sino-Kazakh border region and a little beyond, where the 1996 and 1997 zones lie.
lons = st.floats(min_value=78.0, max_value=88.0)
lats = st.floats(min_value=42.0, max_value=48.0)
depths = st.floats(min_value=0.0, max_value=300.0)
radii = st.floats(min_value=0.0, max_value=100.0)
CHN_KAZ = [("CHN", "KAZ")]


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * geography.EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def test_borders_are_the_arcs_two_outlines_share() -> None:
    assert not geography.border("CHN", "KAZ").is_empty
    assert geography.border("CHN", "KAZ").equals(geography.border("KAZ", "CHN"))
    assert geography.border("KAZ", "USA").is_empty
    # Every Shanghai Five border the 1996 agreement's zone runs along is on the map.
    for other in ("KAZ", "KGZ", "TJK", "RUS"):
        assert not geography.border("CHN", other).is_empty


def test_capitals_lie_where_they_are() -> None:
    almaty, bishkek = Area.circle(76.95, 43.24), Area.circle(74.59, 42.87)
    assert in_territories(almaty, ["KAZ"]).inside
    assert not in_territories(almaty, ["KGZ"]).inside
    assert in_territories(bishkek, ["KGZ"]).inside
    # Bishkek is some 20 km from the Kazakh border.
    near = in_border_zone(bishkek, [("KAZ", "KGZ")], 100)
    assert near.inside and near.distance_km is not None and near.distance_km < 40
    # Urumqi is far from the Kazakh border: outside a 100 km zone.
    assert not in_border_zone(Area.circle(87.62, 43.83), CHN_KAZ, 100).inside


def test_an_area_off_both_territories_is_not_in_the_zone() -> None:
    # A point in Mongolia, whatever the depth: the zone lies on the parties' territories.
    assert not in_border_zone(Area.circle(91.0, 47.0), CHN_KAZ, 500).inside


@settings(max_examples=200, deadline=None)
@given(lon=lons, lat=lats, depth=depths, more=st.floats(0.0, 200.0), radius=radii)
def test_a_point_inside_the_zone_stays_inside_when_the_zone_grows(
    lon: float, lat: float, depth: float, more: float, radius: float
) -> None:
    area = Area.circle(lon, lat, radius)
    if in_border_zone(area, CHN_KAZ, depth).inside:
        assert in_border_zone(area, CHN_KAZ, depth + more).inside


@settings(max_examples=200, deadline=None)
@given(lon=lons, lat=lats, depth=depths, radius=radii, more=st.floats(0.0, 100.0))
def test_a_larger_area_around_the_same_place_is_never_less_inside(
    lon: float, lat: float, depth: float, radius: float, more: float
) -> None:
    if in_border_zone(Area.circle(lon, lat, radius), CHN_KAZ, depth).inside:
        assert in_border_zone(Area.circle(lon, lat, radius + more), CHN_KAZ, depth).inside


@settings(max_examples=100, deadline=None)
@given(lon=lons, lat=lats)
# Once failed in CI: projecting China's outline there made it touch itself.
@example(lon=80.0, lat=44.173828125)
def test_distances_agree_with_great_circles(lon: float, lat: float) -> None:
    placement = in_border_zone(Area.circle(lon, lat), CHN_KAZ, 300)
    # Beyond the zone's depth only "outside" matters, and distances are not kept exact there.
    if (
        placement.distance_km is None
        or placement.distance_km > 300
        or not in_territories(Area.circle(lon, lat), ["CHN", "KAZ"]).inside
    ):
        return
    vertices = [
        (float(x), float(y))
        for line in geography.border("CHN", "KAZ").geoms
        for x, y in line.coords
    ]
    nearest_vertex = min(haversine_km((lon, lat), v) for v in vertices)
    # The border line passes at least as near as its nearest vertex, and (its vertices
    # being a few kilometres apart at 1:50m) not much nearer.
    assert placement.distance_km <= nearest_vertex + 0.5
    assert placement.distance_km >= nearest_vertex - 15


@settings(max_examples=50, deadline=None)
@given(lon=lons, lat=lats, depth=depths, radius=radii)
def test_the_same_inputs_give_the_same_placement(
    lon: float, lat: float, depth: float, radius: float
) -> None:
    area = Area.circle(lon, lat, radius)
    assert in_border_zone(area, CHN_KAZ, depth) == in_border_zone(area, CHN_KAZ, depth)


def test_every_place_on_a_grid_over_the_border_region_gets_an_answer() -> None:
    # Projection can leave an outline touching itself anywhere; every cell must still answer.
    for lon in range(780, 881, 4):
        for lat in range(420, 481, 4):
            area = Area.circle(lon / 10, lat / 10, 5.0)
            in_border_zone(area, CHN_KAZ, 100)
            in_territories(area, ["CHN", "KAZ"])
