"""Recognise cookies made by OTP's own generator (auth.erl) and recover its state.

auth.erl makes a missing ~/.erlang.cookie with a 36-bit linear congruential generator:

    X(n+1) = (X(n) * 17059465 + 1) mod 2**36,   letter = $A + X(n+1) * 26 div 2**36

twenty times, prepending each letter, so the last character comes from the first step.
Each letter pins the top ~4.7 bits of one state, and every state is an affine function of
the first, so the twenty letters say that a point of a fixed lattice lies in a known box.
That is a closest-vector problem: the lattice is reduced once (LLL, exact integers), and
each cookie then costs one Babai nearest-plane step plus a tiny neighbourhood search,
microseconds instead of a sweep of 2**36 states. Every candidate is proven by
regenerating the exact cookie, so a random cookie is flagged only if it truly is an
output of the generator (chance about 2**-58 for a random 20-letter cookie).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

MODULUS = 1 << 36
MULTIPLIER = 17059465
INCREMENT = 1
LENGTH = 20
ALPHABET = 26
_MASK = MODULUS - 1
_A_INV = pow(MULTIPLIER, -1, MODULUS)


def next_state(x: int) -> int:
    return (x * MULTIPLIER + INCREMENT) & _MASK


def otp_cookie(seed: int) -> str:
    """Exactly what auth.erl's make_cookie(Seed) returns (the seed taken mod 2**36)."""
    x = seed & _MASK
    letters = []
    for _ in range(LENGTH):
        x = next_state(x)
        letters.append(chr(ord("A") + x * ALPHABET // MODULUS))
    return "".join(reversed(letters))


@dataclass(frozen=True)
class GeneratorMatch:
    """The proof that a cookie came from OTP's generator."""

    seed: int  # auth.erl's seed mod 2**36: abs(monotonic_time() bxor unique_integer())
    first_state: int  # the state after the first step (produced the last letter)

    def to_dict(self) -> dict[str, object]:
        return {
            "generator": "OTP auth.erl 36-bit LCG",
            "seed": self.seed,
            "seed_hex": f"0x{self.seed:09x}",
            "first_state": self.first_state,
        }


# -- the lattice, reduced once, offline --------------------------------------------------

# An LLL-reduced basis (delta 3/4) of the lattice spanned by (1, a, a**2, ..., a**19) and
# 2**36 * e_i (i >= 1). Reducing it takes seconds in pure Python, so it is computed once
# and kept here; tests/audit/test_otp_generator.py proves it spans exactly that lattice.
# fmt: off
REDUCED_BASIS: tuple[tuple[int, ...], ...] = (
    (25498891, 3150814435, 2103582587, -4428770605, 3337264363, -11575651389, -1070498469, 1058656179, 11071172811, 18814367395, -1396889797, 3944347795, 804180139, 1477297539, -359097061, -5990101645, -5868585845, -3066757021, 3087490811, 5130571347),
    (98619570, 6873279298, 5012783698, -2154874398, -1328491022, -6262474110, 1736764306, 4935683362, -1853627598, -9435754046, -1273078574, -4667234206, -2533951374, -5374627582, 3517077010, -4020139102, -2998463054, -8381343678, 8862422866, -16240658718),
    (-145313961, 7972083599, -5458596473, -3347464385, 2372438711, -6827147793, -1665419545, 7865058207, 6389867031, -111493041, 6046415943, -620452865, -7810878089, 474750639, -10740449881, -324837281, -11621923625, -31745777, 12224527111, 2987718847),
    (-4489072953, 8108878463, -2974486537, -154292945, 7022444583, 2747922143, -8945856681, -2203994225, 6001315207, -11786182849, -411637065, -2214371857, -9476499737, -3455409249, -3438804457, 3746046031, 1202543687, -4731173889, 4936029559, -5793022289),
    (4573130539, 16422915, -3163012197, -6821943309, -1516721397, 7952196323, -3690818181, 12345506003, -13883280661, -7548266045, -7398902949, -2368293453, 10369353419, 6294551715, 11849768251, -3588710765, 8938694315, -698463357, -3682315493, -3161541773),
    (4222997308, 11334734620, -4373020164, -1523787812, -7344976708, 2817562780, 749810556, -7743449764, -3695987140, -240988644, 5358015740, 6467797724, 8821231548, 7280718748, 3855738492, -4169260964, -15874696900, 938674460, -3250165764, 14550855132),
    (-4332684892, 8516604100, -1017270044, -9653640700, 5475691556, -9141692604, 7802841956, 2751688836, -3889205596, -5307355708, 10435573220, 1193955076, -11915525852, -9165794236, -4515393436, 7811349892, 8053236644, -506099004, -627115292, -3236578300),
    (-363269637, 5473565011, -2977974421, 9477538371, -7629217829, -14920251853, -1285956789, -3958164189, 6711155131, 6240386835, -9940628693, -5745732605, 879665051, -582966285, -10261903605, 6724181731, -5720608389, 3186767059, 13304499947, 1352013251),
    (-4699403613, -1665524933, -3291444077, -2906913621, -11581089405, 579473691, 8263131507, -3491876725, -1646373789, 12586930939, 1963319891, 1197959275, -9582707901, -188260133, -12404551885, 12815903819, 4299001379, 1036761787, -5186787309, 160234539),
    (4739351764, 4698533236, -3093468396, 170812852, -4821269164, 7562179060, -1081306220, 964825652, -4748503596, 594921076, -6806402028, 4681305780, 18925860436, -7443305740, 4564800660, 8615058228, 1002546900, 10381352820, -5665264364, 5753337780),
    (361920255, -4183859081, -12557033041, 4224850087, 7793939295, -1838460969, -3689071601, -16187017721, 2013825983, 3307404087, 5572080239, 10583002983, 9946751007, -4457504105, 1227244751, -5625748281, -9078566785, -2417261065, 3065508655, 3494213159),
    (-5458596473, -3347464385, 2372438711, -6827147793, -1665419545, 7865058207, 6389867031, -111493041, 6046415943, -620452865, -7810878089, 474750639, -10740449881, -324837281, -11621923625, -31745777, 12224527111, 2987718847, -7197470665, 7196290927),
    (-3852661256, -1511126600, 842613624, 3641944888, 8834363640, 8250410168, -6621768072, 3975304760, 886387704, -8526078024, 9151662456, -8166514376, 3407058680, 8478481080, 1785175160, -2466296776, 2260261368, 7704294840, -5045694600, -2100979912),
    (-3347464385, 2372438711, -6827147793, -1665419545, 7865058207, 6389867031, -111493041, 6046415943, -620452865, -7810878089, 474750639, -10740449881, -324837281, -11621923625, -31745777, 12224527111, 2987718847, -7197470665, 7196290927, 1911272551),
    (-658044168, -5171810632, -4757172104, 4800028728, -235876872, 4437559736, -11362827400, 6206614328, -6748802824, -3511876424, 6390519416, -3327650248, -10156968968, -6877601864, -9677633160, 147497272, -7810885896, 4730460856, -5550154632, -11569656776),
    (3384391076, -4222997308, -11334734620, 4373020164, 1523787812, 7344976708, -2817562780, -749810556, 7743449764, 3695987140, 240988644, -5358015740, -6467797724, -8821231548, -7280718748, -3855738492, 4169260964, 15874696900, -938674460, 3250165764),
    (7386009505, 18156677929, -2856298767, -9475984135, -3654158527, -9527943223, 14633091217, -195183719, 3702915809, 2127304809, -5011337679, 173246009, -3028536703, 10869429513, -5082955823, -3470797607, -12192381407, 4100216233, 1534023025, -1587468423),
    (-2778625604, 4179230108, 3432923260, -3384391076, 4222997308, 11334734620, -4373020164, -1523787812, -7344976708, 2817562780, 749810556, -7743449764, -3695987140, -240988644, 5358015740, 6467797724, 8821231548, 7280718748, 3855738492, -4169260964),
    (-1823121001, 4190714831, 7434802119, -4974233729, -1390582537, -12275004881, -2975333081, -10651917345, 714712151, -14954302321, 1683812999, 1488907327, 6880993207, 2375432943, 14597643239, 7660081311, 780457751, -772006577, -183123641, -3931893505),
    (-14671596743, 6000199553, -8951492087, -667458351, -8680070695, -15272854751, 3873845929, 4970551921, 1317606521, 2524762817, 2634520393, 8578151441, -1192686823, 998018657, 1670234089, 5905101233, -6006307399, -8906838527, 9776868489, -2835049647),
)
# fmt: on


def lattice_offsets() -> tuple[list[int], list[int]]:
    """C_i with X_i = a**(i-1) * X_1 + C_i (mod 2**36), and the coefficients a**(i-1)."""
    coeffs, offsets = [], []
    a_pow, c_sum = 1, 0
    for _ in range(LENGTH):
        coeffs.append(a_pow)
        offsets.append(c_sum)
        c_sum = (c_sum * MULTIPLIER + INCREMENT) & _MASK
        a_pow = (a_pow * MULTIPLIER) & _MASK
    return coeffs, offsets


_Basis = tuple[tuple[int, ...], ...]


@functools.lru_cache(maxsize=1)
def _reduced_lattice() -> tuple[_Basis, list[list[float]], list[float], list[int]]:
    """The reduced basis, its floating Gram-Schmidt vectors and norms, and the offsets."""
    # Floating Gram-Schmidt is exact enough for nearest-plane rounding at these sizes;
    # all lattice arithmetic on candidates stays in integers.
    bstar: list[list[float]] = []
    norms: list[float] = []
    for row in REDUCED_BASIS:
        v = [float(x) for x in row]
        for u, nu in zip(bstar, norms):
            m = sum(x * y for x, y in zip(row, u)) / nu
            v = [x - m * y for x, y in zip(v, u)]
        bstar.append(v)
        norms.append(sum(x * x for x in v))
    return REDUCED_BASIS, bstar, norms, lattice_offsets()[1]


def _interval(letter_index: int) -> tuple[int, int]:
    lo = -(-letter_index * MODULUS // ALPHABET)
    hi = -(-(letter_index + 1) * MODULUS // ALPHABET) - 1
    return lo, hi


def _nearest_plane(
    target: list[float], reduced: _Basis, bstar: list[list[float]], norms: list[float]
) -> list[int]:
    coeffs = [0] * len(reduced)
    residual = list(target)
    for i in range(len(reduced) - 1, -1, -1):
        c = round(sum(x * y for x, y in zip(residual, bstar[i])) / norms[i])
        coeffs[i] = c
        if c:
            residual = [x - c * y for x, y in zip(residual, reduced[i])]
    return coeffs


def recover(cookie: str) -> GeneratorMatch | None:
    """The generator state that produced `cookie`, or None if OTP's generator did not."""
    if len(cookie) != LENGTH or not all("A" <= ch <= "Z" for ch in cookie):
        return None
    letters = [ord(ch) - ord("A") for ch in reversed(cookie)]  # generation order
    reduced, bstar, norms, offsets = _reduced_lattice()
    target = []
    for letter, off in zip(letters, offsets):
        lo, hi = _interval(letter)
        target.append(float((lo + hi) / 2 - off))
    base = _nearest_plane(target, reduced, bstar, norms)
    # Babai lands on the right point almost always; a small neighbourhood in the
    # directions of the longest Gram-Schmidt vectors covers the rest.
    order = sorted(range(len(reduced)), key=lambda i: -norms[i])[:4]
    first_base = sum(c * row[0] for c, row in zip(base, reduced))
    steps = [reduced[i][0] for i in order]
    for deltas in itertools.product((0, -1, 1), repeat=len(order)):
        first = (first_base + sum(d * s for d, s in zip(deltas, steps))) & _MASK
        if _regenerates(first, letters):
            return GeneratorMatch(seed=((first - INCREMENT) * _A_INV) & _MASK, first_state=first)
    return None


def _regenerates(first_state: int, letters: list[int]) -> bool:
    """Does the generator, from this first state, give exactly these letters? (early exit)"""
    x = first_state
    for i, letter in enumerate(letters):
        if i:
            x = next_state(x)
        if x * ALPHABET // MODULUS != letter:
            return False
    return True
