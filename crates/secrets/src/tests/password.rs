#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn default_has_every_type() {
    for _ in 0..50 {
        let p = generate(&Spec::default()).unwrap();
        assert_eq!(p.chars().count(), 32);
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(p.chars().any(|c| PUNCTUATION.contains(c)));
        assert!(!p.contains(' '));
    }
}

#[test]
fn exclusions() {
    let spec = Spec {
        length: 64,
        exclude_punctuation: true,
        exclude_uppercase: true,
        exclude_characters: "abc0".into(),
        include_space: true,
        ..Spec::default()
    };
    for _ in 0..20 {
        let p = generate(&spec).unwrap();
        assert_eq!(p.len(), 64);
        assert!(p
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' '));
        assert!(!p.contains(['a', 'b', 'c', '0']));
        assert!(p.contains(' '));
    }
    let only_digits = Spec {
        length: 8,
        exclude_punctuation: true,
        exclude_uppercase: true,
        exclude_lowercase: true,
        ..Spec::default()
    };
    assert!(generate(&only_digits)
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_digit()));
}

#[test]
fn errors() {
    let none = Spec {
        exclude_punctuation: true,
        exclude_uppercase: true,
        exclude_lowercase: true,
        exclude_numbers: true,
        ..Spec::default()
    };
    assert_eq!(
        generate(&none).unwrap_err().code,
        "InvalidParameterException"
    );
    let short = Spec {
        length: 3,
        ..Spec::default()
    };
    assert_eq!(
        generate(&short).unwrap_err().code,
        "InvalidParameterException"
    );
    let short_ok = Spec {
        length: 3,
        require_each_included_type: false,
        ..Spec::default()
    };
    assert_eq!(generate(&short_ok).unwrap().len(), 3);
}

#[test]
fn punctuation_is_awss() {
    assert_eq!(PUNCTUATION.len(), 32);
    assert!(PUNCTUATION.chars().all(|c| c.is_ascii_punctuation()));
}
