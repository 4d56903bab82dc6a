//! CPython's Mersenne Twister, bit for bit: `random.seed(int)`,
//! `getrandbits(k)` and `shuffle`, enough to reproduce NAS-Bench-201's
//! `random.seed(88); random.shuffle(archs)`.

const N: usize = 624;
const M: usize = 397;

pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

impl Mt19937 {
    fn init_genrand(seed: u32) -> Mt19937 {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            state[i] = 1_812_433_253u32.wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30)).wrapping_add(i as u32);
        }
        Mt19937 { state, index: N }
    }

    /// `random.seed(seed)` for a non-negative int: `init_by_array` over the
    /// seed's 32-bit words, least significant first.
    pub fn from_python_seed(seed: u64) -> Mt19937 {
        let mut key = vec![seed as u32];
        if seed >> 32 != 0 {
            key.push((seed >> 32) as u32);
        }
        let mut mt = Mt19937::init_genrand(19_650_218);
        let s = &mut mt.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            s[i] = (s[i] ^ (s[i - 1] ^ (s[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            s[i] = (s[i] ^ (s[i - 1] ^ (s[i - 1] >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
        }
        s[0] = 0x8000_0000;
        mt
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        for i in 0..N {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// `random.getrandbits(k)` for 1 <= k <= 32.
    pub fn getrandbits(&mut self, k: u32) -> u32 {
        debug_assert!((1..=32).contains(&k));
        self.next_u32() >> (32 - k)
    }

    /// `random._randbelow(n)`: rejection sampling on `n.bit_length()` bits.
    pub fn randbelow(&mut self, n: u32) -> u32 {
        let k = 32 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `random.shuffle(items)`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.randbelow(i as u32 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY_SEED_88: [u32; 3] = [1707201716, 4182107318, 813946014];
    const PY_SEED_BIG: u32 = 2166296868;
    const PY_SHUFFLE_1: [u32; 10] = [6, 8, 9, 7, 5, 3, 0, 4, 1, 2];

    #[test]
    fn matches_cpython_getrandbits() {
        // python3 -c "import random; random.seed(88); print([random.getrandbits(32) for _ in range(3)])"
        let mut mt = Mt19937::from_python_seed(88);
        let got: Vec<u32> = (0..3).map(|_| mt.getrandbits(32)).collect();
        assert_eq!(got, PY_SEED_88);
        // python3 -c "import random; random.seed(2**40 + 5); print(random.getrandbits(32))"
        assert_eq!(Mt19937::from_python_seed((1 << 40) + 5).getrandbits(32), PY_SEED_BIG);
        // python3 -c "import random; random.seed(1); x=list(range(10)); random.shuffle(x); print(x)"
        let mut x: Vec<u32> = (0..10).collect();
        Mt19937::from_python_seed(1).shuffle(&mut x);
        assert_eq!(x, PY_SHUFFLE_1);
    }
}
