"""TopoJSON decoding (the format of the npm package world-atlas, which ships Natural Earth).

Quantised, delta-encoded arcs are turned back into longitude/latitude, and each polygon ring
is stitched from its arcs (a negative index ``~i`` means arc ``i`` reversed). Shared by the
web map's build tool and the CBM engine's geography; standard library only.
"""

from __future__ import annotations

from typing import Any

Point = tuple[float, float]
Ring = list[Point]


def decode_arcs(topo: dict[str, Any]) -> list[list[Point]]:
    """Undo quantisation and delta encoding: arcs in longitude/latitude."""
    transform = topo.get("transform")
    arcs: list[list[Point]] = []
    for arc in topo["arcs"]:
        if transform is None:
            arcs.append([(float(p[0]), float(p[1])) for p in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        points: list[Point] = []
        for p in arc:
            x += p[0]
            y += p[1]
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def stitch_ring(indices: list[int], arcs: list[list[Point]]) -> Ring:
    """Join a ring's arcs, dropping the point each arc shares with the previous."""
    ring: Ring = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(arc[1:] if ring else arc)
    return ring


def arc_indexes(geometry: dict[str, Any]) -> list[list[list[int]]]:
    """A (multi)polygon's arc indexes: polygons, their rings, each ring's arcs."""
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["arcs"])
    raise ValueError(f"unexpected geometry type {geometry['type']!r}")


def polygons(geometry: dict[str, Any], arcs: list[list[Point]]) -> list[list[Ring]]:
    return [[stitch_ring(ring, arcs) for ring in polygon] for polygon in arc_indexes(geometry)]
