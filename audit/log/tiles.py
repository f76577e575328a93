"""Reading the tree from its tiles: the root at any size, inclusion and consistency proofs.

A hash of a full subtree of height h sits in tile level h // 8; when h is not
a multiple of 8 it is rebuilt from 2**(h % 8) hashes of one tile. A tile's
inner levels are hashed at most once per TileSource, so a proof costs a few
tile reads (one query for all of them) and a few hundred SHA-256 calls, for
a tree of any size.
"""

from django.db.models import Q

from audit import tlog
from audit.models import Tile
from core.errors import ApplicationError


class TreeDamaged(ApplicationError):
    """A tile the tree needs is missing or short: the stored tree is damaged (500-class; never user input)."""

    status = 500


class TileSource:
    """Full-subtree hashes of the stored tree, read through tiles and memoised per tile."""

    def __init__(self) -> None:
        self._tiles: dict[tuple[int, int], bytes] = {}
        self._levels: dict[tuple[int, int], list[list[bytes]]] = {}

    def prefetch(self, keys: set[tuple[int, int]]) -> None:
        """Read the given (level, index) tiles with one query."""
        missing = [key for key in keys if key not in self._tiles]
        if not missing:
            return
        condition = Q()
        for level, index in missing:
            condition |= Q(level=level, index=index)
        for level, index, hashes in Tile.objects.filter(condition).values_list("level", "index", "hashes"):
            self._tiles[(level, index)] = bytes(hashes)

    def _tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._tiles:
            self.prefetch({key})
        if key not in self._tiles:
            raise TreeDamaged("tree_damaged", f"tile {level}/{index} is missing")
        return self._tiles[key]

    def _inner(self, level: int, index: int) -> list[list[bytes]]:
        key = (level, index)
        if key not in self._levels:
            data = self._tile(level, index)
            row = [data[i : i + tlog.HASH_SIZE] for i in range(0, len(data), tlog.HASH_SIZE)]
            levels = [row]
            while len(row) > 1:
                row = [tlog.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
                levels.append(row)
            self._levels[key] = levels
        return self._levels[key]

    def full(self, height: int, index: int) -> bytes:
        level, inner = divmod(height, tlog.TILE_HEIGHT)
        first = index << inner  # position of its first hash at tile level `level`
        tile_index = first // tlog.TILE_WIDTH
        levels = self._inner(level, tile_index)
        position = (first % tlog.TILE_WIDTH) >> inner
        if inner >= len(levels) or position >= len(levels[inner]):
            raise TreeDamaged("tree_damaged", f"tile {level}/{tile_index} is too short for subtree {height}/{index}")
        return levels[inner][position]

    def prefetch_for(self, size: int, index: int | None = None) -> None:
        """Read the tiles a root at `size` (and a path from leaf `index`) will need, in one query."""
        keys = set()
        level = 0
        while (size >> (tlog.TILE_HEIGHT * level)) > 0:
            shift = tlog.TILE_HEIGHT * (level + 1)
            keys.add((level, (size - 1) >> shift))
            if index is not None:
                keys.add((level, index >> shift))
            level += 1
        self.prefetch(keys)


def root_at(size: int, source: TileSource | None = None) -> bytes:
    """The root hash of the tree's first `size` leaves (the caller makes sure they exist)."""
    if size == 0:
        return tlog.EMPTY_ROOT
    source = source or TileSource()
    source.prefetch_for(size)
    return tlog.subtree_hash(source.full, 0, size)


def leaf_hashes(first: int, end: int) -> list[bytes]:
    """The stored leaf hashes of leaves first..end-1 (from the level-0 tiles)."""
    result: list[bytes] = []
    if end <= first:
        return result
    tiles = dict(
        Tile.objects.filter(
            level=0, index__gte=first // tlog.TILE_WIDTH, index__lte=(end - 1) // tlog.TILE_WIDTH
        ).values_list("index", "hashes")
    )
    for position in range(first, end):
        tile_index, offset = divmod(position, tlog.TILE_WIDTH)
        data = bytes(tiles.get(tile_index, b""))[offset * tlog.HASH_SIZE : (offset + 1) * tlog.HASH_SIZE]
        if len(data) != tlog.HASH_SIZE:
            raise TreeDamaged("tree_damaged", f"the leaf hash of event #{position + 1} is missing")
        result.append(data)
    return result


def inclusion_proof(index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf `index` in the tree of `size` (0 <= index < size <= stored size)."""
    source = TileSource()
    source.prefetch_for(size, index)
    return tlog.inclusion_path(source.full, index, size)


def consistency_proof(old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof from `old_size` to `new_size` (0 <= old <= new <= stored size)."""
    source = TileSource()
    source.prefetch_for(new_size, old_size - 1 if old_size else None)
    return tlog.consistency_path(source.full, old_size, new_size)
