//! `GetRandomPassword`: characters from the system CSPRNG, uniform over the allowed set.
use rampart_core::AwsError;
use rampart_model::secretsmanager as m;
use zeroize::Zeroizing;

pub const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
pub const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const DIGITS: &str = "0123456789";
/// AWS's punctuation set: ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
pub const DEFAULT_LENGTH: usize = 32;

#[derive(Debug, Clone)]
pub struct Spec {
    pub length: usize,
    pub exclude_characters: String,
    pub exclude_numbers: bool,
    pub exclude_punctuation: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub include_space: bool,
    pub require_each_included_type: bool,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            length: DEFAULT_LENGTH,
            exclude_characters: String::new(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            include_space: false,
            require_each_included_type: true,
        }
    }
}

/// A uniform random index below `n` (rejection sampling, no modulo bias).
fn below(n: usize) -> usize {
    let n32 = u32::try_from(n).unwrap_or(u32::MAX).max(1);
    let zone = u32::MAX - (u32::MAX % n32);
    loop {
        let mut b = [0u8; 4];
        rampart_core::ids::random_bytes(&mut b);
        let x = u32::from_le_bytes(b);
        if x < zone {
            return (x % n32) as usize;
        }
    }
}

fn pick(chars: &[char]) -> Option<char> {
    if chars.is_empty() {
        None
    } else {
        chars.get(below(chars.len())).copied()
    }
}

/// The character classes the spec includes, each without the excluded characters; classes
/// left empty by `ExcludeCharacters` drop out.
pub fn classes(spec: &Spec) -> Vec<Vec<char>> {
    let mut out = Vec::new();
    let mut add = |set: &str, on: bool| {
        if on {
            let v: Vec<char> = set
                .chars()
                .filter(|c| !spec.exclude_characters.contains(*c))
                .collect();
            if !v.is_empty() {
                out.push(v);
            }
        }
    };
    add(LOWER, !spec.exclude_lowercase);
    add(UPPER, !spec.exclude_uppercase);
    add(DIGITS, !spec.exclude_numbers);
    add(PUNCTUATION, !spec.exclude_punctuation);
    add(" ", spec.include_space);
    out
}

pub fn generate(spec: &Spec) -> Result<Zeroizing<String>, AwsError> {
    let classes = classes(spec);
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    if all.is_empty() {
        return Err(m::invalid_parameter_exception(
            "You can't exclude every character type: the password would be empty.",
        ));
    }
    let required = if spec.require_each_included_type {
        classes.len()
    } else {
        0
    };
    if spec.length < required {
        return Err(m::invalid_parameter_exception(
            "Password length is too short based on the required types.",
        ));
    }
    let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(spec.length));
    if spec.require_each_included_type {
        for c in &classes {
            if let Some(ch) = pick(c) {
                chars.push(ch);
            }
        }
    }
    while chars.len() < spec.length {
        if let Some(ch) = pick(&all) {
            chars.push(ch);
        }
    }
    // Fisher-Yates, so the required characters are not always first.
    for i in (1..chars.len()).rev() {
        let j = below(i + 1);
        chars.swap(i, j);
    }
    Ok(Zeroizing::new(chars.iter().collect()))
}

#[cfg(test)]
#[path = "tests/password.rs"]
mod tests;
