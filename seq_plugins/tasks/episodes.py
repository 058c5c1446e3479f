"""Episode generators of meta seq2seq learning (Lake 2019): a support set of (input, output) pairs and a query set
whose meanings follow the same episode-specific assignment of words to meanings.

An episode is ``{"support": [(input words, output symbols), ...], "query": [...], "id": ...}``; ``id`` names what
must never be trained on once it was used for validation (the bijection for ``me``, the whole episode otherwise).
Every draw takes a ``numpy.random.Generator``, so an episode is a pure function of its seed.
"""
import functools
import itertools

from preprocess import scan_grammar as scan
from seq_cli import UsageError

ME_WORDS = ("dax", "lug", "wif", "zup")
ME_MEANINGS = ("RED", "YELLOW", "GREEN", "BLUE")
NEW_PRIMITIVES = tuple(str(i) for i in range(1, 21))
SLOT_WORDS = scan.PRIMITIVES + NEW_PRIMITIVES
SLOT_MEANINGS = tuple(scan.ACTIONS[p] for p in scan.PRIMITIVES) + tuple(f"I_{p}" for p in NEW_PRIMITIVES)
DIRECTION_WORDS = ("right", "left", "1", "2")
DIRECTION_MEANINGS = ("I_TURN_RIGHT", "I_TURN_LEFT", "I_1", "I_2")


def shared_vocabularies():
    """(input words, output symbols) of every episode type together: the vocabulary of ``--shared-vocabulary``."""
    pairs = [kind.vocabulary() for kind in EPISODE_TYPES.values()]
    return sorted(set().union(*(w for w, _ in pairs))), sorted(set().union(*(a for _, a in pairs)))


_commands = functools.cache(scan.commands)
_split = functools.cache(scan.make_split)
_meaning = functools.cache(lambda command: tuple(scan.interpret(command)))


def _choose(rng, items, k, what):
    if k > len(items):
        raise UsageError(f"{what}: cannot draw {k} distinct items from a pool of {len(items)}")
    return [items[i] for i in rng.choice(len(items), size=k, replace=False)]


def _relabel(commands, words, meanings):
    """Pairs (input, output) of canonical SCAN commands with words and actions renamed."""
    return [([words.get(w, w) for w in c.split()], [meanings.get(a, a) for a in _meaning(c)])
            for c in commands]


class EpisodeType:
    num_support = num_queries = 20
    test_name = None
    reads_support = True  # False: a batch of a standard seq2seq training, for a learner without memory

    def __init__(self, num_support=None, num_queries=None):
        self.num_support = num_support or self.num_support
        self.num_queries = num_queries or self.num_queries

    def draw(self, rng, training):
        """One episode; ``training`` forbids the held-out assignment of the type."""
        raise NotImplementedError

    def test_episode(self, rng):
        raise NotImplementedError

    @classmethod
    def vocabulary(cls):
        """(input words, output symbols) of this type alone, as Lake's code builds them per episode type: the
        output softmax covers only the type's own symbols."""
        raise NotImplementedError


class MutualExclusivity(EpisodeType):
    """Pseudowords to colours by a random bijection; the support shows three words alone, the queries are distinct
    concatenations (2 to 6 words) of all four, so the fourth word's meaning must be inferred by exclusion."""

    num_support, num_queries = 3, 20
    test_name = "held-out bijections (the validation episodes)"
    BIJECTIONS = list(itertools.permutations(ME_MEANINGS))

    def draw(self, rng, training, bijection=None):
        bijection = bijection or self.BIJECTIONS[rng.integers(len(self.BIJECTIONS))]
        meaning = dict(zip(ME_WORDS, bijection))
        support = [([w], [meaning[w]]) for w in _choose(rng, list(ME_WORDS), self.num_support, "me support")]
        queries = set()
        while len(queries) < self.num_queries:
            queries.add(tuple(rng.choice(ME_WORDS, size=rng.integers(2, 7)).tolist()))
        query = [(list(q), [meaning[w] for w in q]) for q in sorted(queries)]
        rng.shuffle(query)
        return {"support": support, "query": query, "id": tuple(bijection)}

    @classmethod
    def vocabulary(cls):
        return list(ME_WORDS), list(ME_MEANINGS)

    def test_episode(self, rng):
        raise UsageError("episode type me has no separate test episode: its validation episodes use held-out "
                         "bijections")


class ScanRelabeling(EpisodeType):
    """SCAN commands from pools whose words and actions are renamed by a per-episode assignment of slots."""

    def support_pool(self):
        return self.pool()

    def query_pool(self):
        return self.pool()

    def assignment(self, rng, training):
        """(words, meanings): renaming maps of canonical words and canonical actions."""
        raise NotImplementedError

    def draw(self, rng, training):
        words, meanings = self.assignment(rng, training)
        support = _choose(rng, self.support_pool(), self.num_support, f"{self.name} support")
        query = _choose(rng, self.query_pool(), self.num_queries, f"{self.name} queries")
        return {"support": _relabel(support, words, meanings), "query": _relabel(query, words, meanings),
                "id": (tuple(sorted(words.items())), tuple(sorted(meanings.items())), tuple(support), tuple(query))}


class PrimitivePermutation(ScanRelabeling):
    """The four actions permuted over walk/look/run/jump; training never uses the true permutation (23 remain)."""

    name = "scan_prim_permutation"
    test_name = "add jump"

    def pool(self):
        return _commands()

    @classmethod
    def vocabulary(cls):
        return scan.vocabularies()

    def assignment(self, rng, training):
        true = [scan.ACTIONS[p] for p in scan.PRIMITIVES]
        while True:
            permuted = [true[i] for i in rng.permutation(len(true))]
            if not (training and permuted == true):
                return {}, dict(zip(true, permuted))

    def test_episode(self, rng):
        support = list(scan.PRIMITIVES)
        return {"support": _relabel(support, {}, {}), "query": _relabel(_split("addprim_jump")[1], {}, {}),
                "id": "test"}


class PrimitiveAugmentation(PrimitivePermutation):
    """Four primitive slots get words from walk/look/run/jump and 1..20 and, independently, meanings from
    I_WALK..I_JUMP and I_1..I_20; in training the word jump never means I_JUMP."""

    name = "scan_prim_augmentation"

    @classmethod
    def vocabulary(cls):
        words, actions = scan.vocabularies()
        return words + list(NEW_PRIMITIVES), actions + list(SLOT_MEANINGS[len(scan.PRIMITIVES):])

    def assignment(self, rng, training):
        while True:
            words = dict(zip(scan.PRIMITIVES, _choose(rng, SLOT_WORDS, 4, "slots")))
            meanings = dict(zip(scan.PRIMITIVES, _choose(rng, SLOT_MEANINGS, 4, "slots")))
            if not (training and any(w == "jump" and meanings[p] == "I_JUMP" for p, w in words.items())):
                return words, {scan.ACTIONS[p]: meanings[p] for p in scan.PRIMITIVES}


class AroundRight(ScanRelabeling):
    """The two direction slots get words from right/left/1/2 and, independently, meanings from I_TURN_RIGHT,
    I_TURN_LEFT, I_1, I_2 over the around-right training commands; in training right never means I_TURN_RIGHT."""

    name = "scan_around_right"
    test_name = "around right"

    def pool(self):
        return _split("template_around_right")[0]

    @classmethod
    def vocabulary(cls):
        words, actions = scan.vocabularies()
        return words + list(DIRECTION_WORDS[2:]), actions + list(DIRECTION_MEANINGS[2:])

    def assignment(self, rng, training):
        while True:
            words = dict(zip(scan.DIRECTIONS, _choose(rng, DIRECTION_WORDS, 2, "slots")))
            meanings = dict(zip(scan.DIRECTIONS, _choose(rng, DIRECTION_MEANINGS, 2, "slots")))
            if not (training and any(w == "right" and meanings[d] == "I_TURN_RIGHT" for d, w in words.items())):
                return words, {scan.TURNS[d]: meanings[d] for d in scan.DIRECTIONS}

    def test_episode(self, rng):
        return {"support": _relabel(["turn left", "turn right"], {}, {}),
                "query": _relabel(_split("template_around_right")[1], {}, {}), "id": "test"}


class Length(PrimitiveAugmentation):
    """Supports from length-split training commands with fewer than 12 actions, queries from those with 12 to 22;
    primitives augmented as in scan_prim_augmentation."""

    name = "scan_length"
    num_support, num_queries = 100, 20
    test_name = "length"

    def support_pool(self):
        return _length_train(0, 11)

    def query_pool(self):
        return _length_train(12, scan.LENGTH_CUTOFF)

    def test_episode(self, rng):
        train, test = _split("length")
        return {"support": _relabel(_choose(rng, train, self.num_support, "length support"), {}, {}),
                "query": _relabel(test, {}, {}), "id": "test"}


@functools.cache
def _length_train(low, high):
    return [c for c in _split("length")[0] if low <= len(_meaning(c)) <= high]


class StandardTraining(EpisodeType):
    """Lake's standard seq2seq baseline: an "episode" is a batch of 40 commands of the split's training set with
    fixed meanings and no support set (train with ``--no-memory``), so that both learners see as many items per
    update; the test episode is the meta-trained type's. ``always`` are commands put in every batch as they are (the
    bare primitive of add jump, which Lake over-represents, "included in every batch")."""

    num_support, num_queries = 0, 40
    reads_support = False
    meta_type = None
    split = None  # SCAN's split whose training commands the batches draw from
    always = ()

    def pool(self):
        return sorted(set(_split(self.split)[0]))

    def relabeling(self, rng):
        """(words, meanings) renaming the drawn commands; none by default."""
        return {}, {}

    def draw(self, rng, training):
        pool = [c for c in self.pool() if c not in self.always]
        drawn = _choose(rng, pool, self.num_queries - len(self.always), f"{self.name} batch")
        words, meanings = self.relabeling(rng)
        return {"support": [], "query": _relabel(self.always, {}, {}) + _relabel(drawn, words, meanings),
                "id": (tuple(sorted(words.items())), tuple(drawn))}

    @classmethod
    def vocabulary(cls):
        return cls.meta_type.vocabulary()

    def test_episode(self, rng):
        return self.meta_type().test_episode(rng)


class StandardAddJump(StandardTraining):
    """The add-jump training commands (jump only alone); jump in every batch."""

    name = "scan_prim_standard"
    meta_type = PrimitivePermutation
    test_name = "add jump"
    always = ("jump",)
    split = "addprim_jump"


class StandardAddJumpAugmented(StandardAddJump):
    """All SCAN commands with their four primitive slots renamed, a new draw per batch, to four distinct primitives
    of walk, look, run and 1..20, each with its one fixed meaning (7 means I_7); jump only alone, in every batch."""

    name = "scan_prim_augmentation_standard"
    meta_type = PrimitiveAugmentation

    def pool(self):
        return _commands()

    def relabeling(self, rng):
        fixed = dict(zip(SLOT_WORDS, SLOT_MEANINGS))
        chosen = _choose(rng, [w for w in SLOT_WORDS if w != "jump"], len(scan.PRIMITIVES), "slots")
        return (dict(zip(scan.PRIMITIVES, chosen)),
                {scan.ACTIONS[p]: fixed[w] for p, w in zip(scan.PRIMITIVES, chosen)})


class StandardAroundRight(StandardTraining):
    name = "scan_around_right_standard"
    meta_type = AroundRight
    test_name = "around right"
    split = "template_around_right"


class StandardLength(StandardTraining):
    name = "scan_length_standard"
    meta_type = Length
    test_name = "length"
    split = "length"


EPISODE_TYPES = {"me": MutualExclusivity, "scan_prim_permutation": PrimitivePermutation,
                 "scan_prim_augmentation": PrimitiveAugmentation, "scan_around_right": AroundRight,
                 "scan_length": Length, "scan_prim_standard": StandardAddJump,
                 "scan_prim_augmentation_standard": StandardAddJumpAugmented,
                 "scan_around_right_standard": StandardAroundRight, "scan_length_standard": StandardLength}


def episode_type(name, num_support=None, num_queries=None):
    if name not in EPISODE_TYPES:
        raise UsageError(f"unknown episode type {name!r}; choose from {', '.join(EPISODE_TYPES)}")
    return EPISODE_TYPES[name](num_support, num_queries)


def validation_episodes(kind, rng, count):
    """``count`` episodes with distinct identifiers, drawn before any training episode."""
    episodes, seen = [], set()
    for _ in range(1000 * count):
        if len(episodes) == count:
            return episodes
        episode = kind.draw(rng, training=True)
        if episode["id"] not in seen:
            seen.add(episode["id"])
            episodes.append(episode)
    raise UsageError(f"cannot draw {count} validation episodes with distinct identifiers")


def training_episode(kind, rng, held_out):
    """An episode whose identifier was not used for validation."""
    for _ in range(10_000):
        episode = kind.draw(rng, training=True)
        if episode["id"] not in held_out:
            return episode
    raise UsageError("every training episode drawn repeats a validation episode; use fewer validation episodes")
