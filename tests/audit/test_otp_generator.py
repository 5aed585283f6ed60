import random
import secrets
import string

from erlcookie.audit.otp_generator import (
    LENGTH,
    MODULUS,
    REDUCED_BASIS,
    lattice_offsets,
    otp_cookie,
    recover,
)


def test_known_vectors():
    assert otp_cookie(404289480) == "ELDUPJHMPTCVINSPFDTA"
    assert otp_cookie(506551409) == "IICIEBZGURYVBZWLJTFI"


def _det(matrix):
    """Bareiss fraction-free determinant (exact integers)."""
    m = [list(r) for r in matrix]
    n, sign, prev = len(m), 1, 1
    for k in range(n - 1):
        if m[k][k] == 0:
            swap = next(i for i in range(k + 1, n) if m[i][k] != 0)
            m[k], m[swap] = m[swap], m[k]
            sign = -sign
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                m[i][j] = (m[i][j] * m[k][k] - m[i][k] * m[k][j]) // prev
        prev = m[k][k]
    return sign * m[-1][-1]


def test_stored_basis_spans_exactly_the_generator_lattice():
    coeffs, _ = lattice_offsets()
    assert len(REDUCED_BASIS) == LENGTH
    for row in REDUCED_BASIS:  # every row is a lattice point ...
        assert all((row[i] - row[0] * coeffs[i]) % MODULUS == 0 for i in range(LENGTH))
    # ... and the rows have the lattice's covolume, so they generate all of it.
    assert abs(_det(REDUCED_BASIS)) == MODULUS ** (LENGTH - 1)


def test_recovers_random_seeds_and_regenerates_exactly():
    rng = random.Random(1234)
    for _ in range(2000):
        seed = rng.getrandbits(36)
        match = recover(otp_cookie(seed))
        assert match is not None
        assert otp_cookie(match.seed) == otp_cookie(seed)
        assert match.seed == seed  # the map seed -> cookie is injective in practice


def test_seed_is_taken_mod_2_36_like_band():
    big = (1 << 40) + 12345
    assert otp_cookie(big) == otp_cookie(12345)


def test_ten_thousand_random_cookies_never_flagged():
    alphabet = string.ascii_uppercase
    flagged = 0
    for _ in range(10_000):
        cookie = "".join(secrets.choice(alphabet) for _ in range(20))
        flagged += recover(cookie) is not None
    assert flagged == 0


def test_wrong_shapes_are_not_generator_output():
    assert recover("ELDUPJHMPTCVINSPFDT") is None  # 19 letters
    assert recover("eldupjhmptcvinspfdta") is None
    assert recover("ELDUPJHMPTCVINSPFDTB") is None  # one letter off
