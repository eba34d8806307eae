"""Where an activity is, against the areas agreements apply to: state territories and zones of
a given depth on each side of named borders.

Territories are Natural Earth 1:50m admin-0 countries (public domain), as packaged in the npm
package world-atlas 2.0.2 (``data/countries-50m.json``, see ``data/NOTICE.txt``). Because the
file is topological, the border between two states is exactly the arcs both outlines use, so
no line has to be drawn or matched. At 1:50m, outlines are generalised to within about a
kilometre or two; a finding whose distance is that close to a zone's edge says so
(``ACCURACY_KM``). Boundaries follow Natural Earth's de facto depiction and imply no position
on any territorial dispute.

Distances are measured on a sphere of the mean Earth radius, in an azimuthal equidistant
projection centred on the activity, which keeps distances from the activity exact and others
within a fraction of a percent over the few hundred kilometres that matter here.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pycountry
import shapely
from numpy.typing import NDArray
from shapely import MultiLineString, MultiPolygon, Point, Polygon
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from indivisible.topojson import arc_indexes, decode_arcs, stitch_ring

EARTH_RADIUS_KM = 6371.0088
# How far an outline at 1:50m may be from the true boundary; nearer a zone's edge than this,
# a finding is reported as uncertain.
ACCURACY_KM = 2.0
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
# Below a metre a radius is a point (GEOS fails on vanishing buffers).
_SMALLEST_RADIUS_KM = 0.001


@dataclass(frozen=True)
class Atlas:
    arcs: list[list[tuple[float, float]]]
    # alpha-3 code -> polygons -> rings -> arc indexes
    outlines: dict[str, list[list[list[int]]]]


@functools.cache
def atlas() -> Atlas:
    text = resources.files("indivisible.cbm").joinpath("data/countries-50m.json").read_text()
    topo: dict[str, Any] = json.loads(text)
    outlines: dict[str, list[list[list[int]]]] = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        # Natural Earth features without an ISO code (Kosovo, Northern Cyprus, Somaliland)
        # cannot be named by the registry's codes, so no rule can refer to them.
        country = pycountry.countries.get(numeric=str(numeric).zfill(3)) if numeric else None
        if country is not None:
            outlines[str(country.alpha_3)] = arc_indexes(geometry)
    return Atlas(decode_arcs(topo), outlines)


def known(code: str) -> bool:
    return code in atlas().outlines


@functools.cache
def territory(code: str) -> MultiPolygon:
    """A state's territory in longitude/latitude; KeyError if the map has no such state."""
    found = atlas()
    parts = []
    for polygon in found.outlines[code]:
        rings = [stitch_ring(ring, found.arcs) for ring in polygon]
        parts.append(Polygon(rings[0], rings[1:]))
    # A few 1:50m outlines (Russia's Arctic coast) touch themselves; GEOS refuses to combine
    # invalid shapes, so they are repaired once here.
    valid = shapely.make_valid(MultiPolygon(parts))
    polygons = [g for g in getattr(valid, "geoms", [valid]) if isinstance(g, Polygon)]
    return MultiPolygon(polygons)


@functools.cache
def border(a: str, b: str) -> MultiLineString:
    """The land border between two states: the arcs both outlines share (empty if none)."""
    found = atlas()

    def used(code: str) -> set[int]:
        return {
            index if index >= 0 else ~index
            for polygon in found.outlines[code]
            for ring in polygon
            for index in ring
        }

    shared = sorted(used(a) & used(b))
    return MultiLineString([found.arcs[i] for i in shared])


@dataclass(frozen=True)
class Area:
    """Where an activity takes place: a point with a radius, or a polygon (lon/lat)."""

    shape: BaseGeometry
    radius_km: float = 0.0

    @classmethod
    def circle(cls, lon: float, lat: float, radius_km: float = 0.0) -> Area:
        return cls(Point(lon, lat), radius_km)

    @classmethod
    def polygon(cls, points: list[tuple[float, float]]) -> Area:
        return cls(Polygon(points))

    @classmethod
    def of_state(cls, code: str) -> Area:
        return cls(territory(code))


@dataclass(frozen=True)
class Placement:
    """Whether an activity falls inside an area of application, and by how much."""

    inside: bool
    # Distance from the activity (on the parties' side) to the border; 0 when it touches it.
    # None where the area is whole territories, or the border is far beyond the zone's depth.
    distance_km: float | None
    # True when the answer could change within the map's accuracy.
    uncertain: bool


def _projection(lon0: float, lat0: float) -> Callable[[BaseGeometry], BaseGeometry]:
    """Spherical azimuthal equidistant projection centred on (lon0, lat0), in kilometres."""
    phi0 = math.radians(lat0)
    sin0, cos0 = math.sin(phi0), math.cos(phi0)

    def project(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        phi, dlon = np.radians(coords[:, 1]), np.radians(coords[:, 0] - lon0)
        sin_phi, cos_phi, cos_dlon = np.sin(phi), np.cos(phi), np.cos(dlon)
        c = np.arccos(np.clip(sin0 * sin_phi + cos0 * cos_phi * cos_dlon, -1.0, 1.0))
        sin_c = np.sin(c)
        k = np.where(c < 1e-12, 1.0, c / np.where(sin_c == 0, 1.0, sin_c))
        x = EARTH_RADIUS_KM * k * cos_phi * np.sin(dlon)
        y = EARTH_RADIUS_KM * k * (cos0 * sin_phi - sin0 * cos_phi * cos_dlon)
        return np.column_stack((x, y))

    return lambda geometry: shapely.transform(geometry, project)


def _window(area: Area, reach_km: float) -> Polygon:
    """A longitude/latitude box around the activity wide enough for everything within reach,
    so that continental outlines are cut down before they are projected."""
    min_lon, min_lat, max_lon, max_lat = area.shape.bounds
    margin_lat = (reach_km + area.radius_km) / _KM_PER_DEGREE + 1.0
    widest = min(89.0, max(abs(min_lat), abs(max_lat)) + margin_lat)
    margin_lon = min(180.0, margin_lat / max(math.cos(math.radians(widest)), 0.01))
    return box(
        max(-180.0, min_lon - margin_lon),
        max(-90.0, min_lat - margin_lat),
        min(180.0, max_lon + margin_lon),
        min(90.0, max_lat + margin_lat),
    )


def _projected_land(
    project: Callable[[BaseGeometry], BaseGeometry], parts: list[BaseGeometry]
) -> BaseGeometry:
    """Territories in the activity's projection, as one valid shape.

    Projecting moves vertices a 1:50m outline keeps a few metres apart by different amounts,
    so a valid outline can come out touching itself (seen on China's at 80E 44.17N) and GEOS
    then refuses to combine it; each part is repaired after projection, before the union.
    """
    projected = [shapely.make_valid(project(part)) for part in parts if not part.is_empty]
    return shapely.union_all(projected)


def _clip(shape: BaseGeometry, window: Polygon) -> BaseGeometry:
    """The part of a shape inside the window (fast, and tolerant of slightly bad outlines)."""
    return shapely.clip_by_rect(shape, *window.bounds)


def in_border_zone(area: Area, sides: list[tuple[str, str]], depth_km: float) -> Placement:
    """Whether any part of the activity lies on either state's territory within ``depth_km``
    of their common border, for any of the named pairs of states."""
    centre = area.shape.centroid
    project = _projection(centre.x, centre.y)
    window = _window(area, depth_km + 4 * ACCURACY_KM)
    # A whole territory projected about its centre can come out self-touching (Russia across
    # the antimeridian); GEOS refuses to intersect such a shape.
    shape = shapely.make_valid(project(area.shape))
    if area.radius_km >= _SMALLEST_RADIUS_KM:
        shape = shape.buffer(area.radius_km, quad_segs=32)
    nearest: float | None = None
    for a, b in sides:
        line = _clip(border(a, b), window)
        land = _projected_land(project, [_clip(territory(a), window), _clip(territory(b), window)])
        if line.is_empty or land.is_empty:
            continue
        on_land = shape.intersection(land)
        if on_land.is_empty:
            continue
        distance = on_land.distance(project(line))
        nearest = distance if nearest is None else min(nearest, distance)
    if nearest is None:
        return Placement(False, None, False)
    return Placement(nearest <= depth_km, round(nearest, 1), abs(nearest - depth_km) <= ACCURACY_KM)


def in_territories(area: Area, states: list[str]) -> Placement:
    """Whether any part of the activity lies on the territory of any of the states."""
    centre = area.shape.centroid
    project = _projection(centre.x, centre.y)
    window = _window(area, 4 * ACCURACY_KM)
    # A whole territory projected about its centre can come out self-touching (Russia across
    # the antimeridian); GEOS refuses to intersect such a shape.
    shape = shapely.make_valid(project(area.shape))
    if area.radius_km >= _SMALLEST_RADIUS_KM:
        shape = shape.buffer(area.radius_km, quad_segs=32)
    land = _projected_land(project, [_clip(territory(code), window) for code in states])
    if land.is_empty:
        return Placement(False, None, False)
    inside = shape.intersects(land)
    # Certain only if the answer holds with the outline moved by the map's accuracy.
    certain = (
        not shape.intersection(land.buffer(-ACCURACY_KM)).is_empty
        if inside
        else shape.distance(land) > ACCURACY_KM
    )
    return Placement(inside, None, not certain)
