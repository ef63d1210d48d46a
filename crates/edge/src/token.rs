//! AWS WAF's `aws-waf-token`: what CAPTCHA and Challenge rules look for. The edge issues it
//! itself, after a client answers
//!
//! * a **challenge**: the interstitial page's script finds a proof of work (a counter that
//!   makes SHA-256 of a signed nonce and the counter start with `WORK_BITS` zero bits) and
//!   posts it to [`CHALLENGE_PATH`], a silent check that a browser runs JavaScript;
//! * a **CAPTCHA**: the interstitial shows distorted characters (SVG) that a person types
//!   into a form posted to [`CAPTCHA_PATH`].
//!
//! Both are stateless: nonces carry their time and an HMAC (the CAPTCHA's binds its answer),
//! and the token carries the times of the last solved challenge and CAPTCHA under an HMAC
//! with a key derived from the root of trust, so it survives restarts and nodes can share it.

use aws_lc_rs::{digest, hmac, rand};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use rampart_firewall::acl::TokenState;

pub const COOKIE: &str = "aws-waf-token";
/// The header the JavaScript integration's `AwsWafIntegration.fetch()` sends the token in.
pub const HEADER: &str = "x-aws-waf-token";
/// How long the JavaScript integration keeps a token before asking again (seconds).
pub const CLIENT_TTL_S: u64 = 300;
pub const CHALLENGE_PATH: &str = "/.well-known/rampart-waf/challenge";
pub const CAPTCHA_PATH: &str = "/.well-known/rampart-waf/captcha";
/// Leading zero bits a challenge answer must produce (about 65,000 hashes in a browser).
pub const WORK_BITS: u32 = 16;
/// A nonce is good for this long.
const NONCE_TTL_S: u64 = 600;
/// A token is accepted for at most this long (rules' immunity times are shorter).
const TOKEN_MAX_AGE_S: u64 = 3 * 24 * 3600;
const CAPTCHA_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CAPTCHA_LEN: usize = 6;

/// Issues and checks nonces and tokens.
pub struct Tokens {
    key: hmac::Key,
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    let _ = rand::fill(&mut b);
    b
}

fn leading_zero_bits(h: &[u8]) -> u32 {
    let mut n = 0;
    for b in h {
        if *b == 0 {
            n += 8;
        } else {
            n += b.leading_zeros();
            break;
        }
    }
    n
}

impl Tokens {
    pub fn new(key: &[u8]) -> Tokens {
        Tokens {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    fn tag(&self, parts: &[&[u8]]) -> hmac::Tag {
        let mut c = hmac::Context::with_key(&self.key);
        for p in parts {
            c.update(&(p.len() as u64).to_be_bytes());
            c.update(p);
        }
        c.sign()
    }

    fn check(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut msg = Vec::new();
        for p in parts {
            msg.extend_from_slice(&(p.len() as u64).to_be_bytes());
            msg.extend_from_slice(p);
        }
        hmac::verify(&self.key, &msg, tag).is_ok()
    }

    /// A challenge nonce: `kind.time.random.mac`.
    pub fn challenge_nonce(&self) -> String {
        let t = now_s().to_string();
        let r = B64.encode(random::<16>());
        let mac = B64.encode(self.tag(&[b"challenge", t.as_bytes(), r.as_bytes()]));
        format!("{t}.{r}.{mac}")
    }

    fn fresh(t: &str) -> bool {
        t.parse::<u64>()
            .is_ok_and(|t| now_s().saturating_sub(t) <= NONCE_TTL_S && t <= now_s() + 60)
    }

    /// Whether `counter` answers the challenge `nonce`.
    pub fn check_challenge(&self, nonce: &str, counter: &str) -> bool {
        let mut p = nonce.splitn(3, '.');
        let (Some(t), Some(r), Some(mac)) = (p.next(), p.next(), p.next()) else {
            return false;
        };
        let Ok(mac) = B64.decode(mac) else {
            return false;
        };
        if !Self::fresh(t) || !self.check(&[b"challenge", t.as_bytes(), r.as_bytes()], &mac) {
            return false;
        }
        if counter.is_empty() || counter.len() > 20 || !counter.bytes().all(|b| b.is_ascii_digit())
        {
            return false;
        }
        let h = digest::digest(&digest::SHA256, format!("{nonce}:{counter}").as_bytes());
        leading_zero_bits(h.as_ref()) >= WORK_BITS
    }

    /// A CAPTCHA: its nonce (binding the answer) and the characters to show.
    pub fn captcha(&self) -> (String, String) {
        let r = random::<CAPTCHA_LEN>();
        let answer: String = r
            .iter()
            .map(|b| {
                let i = usize::from(*b) % CAPTCHA_ALPHABET.len();
                char::from(CAPTCHA_ALPHABET.get(i).copied().unwrap_or(b'A'))
            })
            .collect();
        let t = now_s().to_string();
        let salt = B64.encode(random::<12>());
        let mac =
            B64.encode(self.tag(&[b"captcha", t.as_bytes(), salt.as_bytes(), answer.as_bytes()]));
        (format!("{t}.{salt}.{mac}"), answer)
    }

    /// Whether `answer` (case and spaces ignored) solves the CAPTCHA of `nonce`.
    pub fn check_captcha(&self, nonce: &str, answer: &str) -> bool {
        let mut p = nonce.splitn(3, '.');
        let (Some(t), Some(salt), Some(mac)) = (p.next(), p.next(), p.next()) else {
            return false;
        };
        let Ok(mac) = B64.decode(mac) else {
            return false;
        };
        let answer: String = answer
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        Self::fresh(t)
            && answer.len() == CAPTCHA_LEN
            && self.check(
                &[b"captcha", t.as_bytes(), salt.as_bytes(), answer.as_bytes()],
                &mac,
            )
    }

    /// A token recording solve times (seconds since the epoch; 0 = never).
    pub fn token(&self, challenge_at: u64, captcha_at: u64) -> String {
        let body = format!("{challenge_at}.{captcha_at}.{}", B64.encode(random::<8>()));
        let mac = B64.encode(self.tag(&[b"token", body.as_bytes()]));
        format!("{body}.{mac}")
    }

    /// The solve times a token carries: `(challenge_at, captcha_at)`.
    pub fn read(&self, token: &str) -> Option<(u64, u64)> {
        let (body, mac) = token.rsplit_once('.')?;
        let mac = B64.decode(mac).ok()?;
        if !self.check(&[b"token", body.as_bytes()], &mac) {
            return None;
        }
        let mut p = body.splitn(3, '.');
        let ch: u64 = p.next()?.parse().ok()?;
        let ca: u64 = p.next()?.parse().ok()?;
        Some((ch, ca))
    }

    /// What rules see of a token's solve times (`None`: no valid token).
    pub fn ages(times: Option<(u64, u64)>) -> TokenState {
        let now = now_s();
        let Some((ch, ca)) = times else {
            return TokenState::default();
        };
        let age = |t: u64| {
            (t > 0 && t <= now + 60 && now.saturating_sub(t) <= TOKEN_MAX_AGE_S)
                .then(|| now.saturating_sub(t))
        };
        TokenState {
            challenge_age_s: age(ch).or(age(ca)),
            captcha_age_s: age(ca),
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The challenge interstitial: a script that works out the proof and posts it.
pub fn challenge_page(nonce: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Checking your browser</title></head>
<body><p id="m">Checking your browser&hellip;</p>
<script>
(async () => {{
  const nonce = "{nonce}", bits = {WORK_BITS}, enc = new TextEncoder();
  for (let i = 0; ; i++) {{
    const h = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(nonce + ":" + i)));
    let z = 0;
    for (const b of h) {{ if (b === 0) {{ z += 8; continue; }} z += Math.clz32(b) - 24; break; }}
    if (z >= bits) {{
      const r = await fetch("{CHALLENGE_PATH}", {{method: "POST", credentials: "same-origin",
        headers: {{"Content-Type": "application/x-www-form-urlencoded"}},
        body: "nonce=" + encodeURIComponent(nonce) + "&counter=" + i}});
      if (r.ok) {{ location.reload(); }} else {{ document.getElementById("m").textContent = "The check failed."; }}
      return;
    }}
  }}
}})();
</script><noscript>This page needs JavaScript.</noscript></body></html>
"#,
        nonce = esc(nonce)
    )
}

/// The CAPTCHA interstitial: the characters drawn as distorted SVG text, and a form.
pub fn captcha_page(nonce: &str, answer: &str, back_to: &str) -> String {
    let svg = captcha_svg(answer);
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Human verification</title></head>
<body><p>Type the characters you see.</p>{svg}
<form method="POST" action="{CAPTCHA_PATH}">
<input type="hidden" name="nonce" value="{nonce}"><input type="hidden" name="return" value="{back}">
<input name="answer" autocomplete="off" autofocus> <button type="submit">Continue</button>
</form></body></html>
"#,
        nonce = esc(nonce),
        back = esc(back_to)
    )
}

/// A CAPTCHA's characters drawn as distorted SVG text.
pub fn captcha_svg(answer: &str) -> String {
    let r = random::<64>();
    let mut svg = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="220" height="70" role="img" aria-label="characters to type">"#,
    );
    for (i, c) in answer.chars().enumerate() {
        let j = i * 4;
        let b = |k: usize| i32::from(r.get(j + k).copied().unwrap_or(0));
        let x = 18 + (i as i32) * 32 + b(0) % 8;
        let y = 45 + b(1) % 12;
        let rot = b(2) % 50 - 25;
        let size = 28 + b(3) % 10;
        svg.push_str(&format!(
            r#"<text x="{x}" y="{y}" font-size="{size}" font-family="serif" transform="rotate({rot} {x} {y})">{c}</text>"#
        ));
    }
    for k in 0..5 {
        let b = |o: usize| i32::from(r.get(40 + k * 4 + o).copied().unwrap_or(0));
        svg.push_str(&format!(
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="black" stroke-width="1"/>"#,
            b(0) % 220,
            b(1) % 70,
            b(2) % 220,
            b(3) % 70
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// What a request carrying `candidates` (tokens; the first valid one counts) shows rules.
    fn state<'a>(t: &Tokens, candidates: impl IntoIterator<Item = &'a str>) -> TokenState {
        Tokens::ages(candidates.into_iter().find_map(|v| t.read(v)))
    }

    #[test]
    fn challenge_round_trip() {
        let t = Tokens::new(&[7u8; 32]);
        let n = t.challenge_nonce();
        let mut counter = 0u64;
        loop {
            let h = digest::digest(&digest::SHA256, format!("{n}:{counter}").as_bytes());
            if leading_zero_bits(h.as_ref()) >= WORK_BITS {
                break;
            }
            counter += 1;
        }
        assert!(t.check_challenge(&n, &counter.to_string()));
        assert!(!t.check_challenge(&n, &(counter + 1).to_string()) || counter == 0);
        let other = Tokens::new(&[8u8; 32]);
        assert!(!other.check_challenge(&n, &counter.to_string()));
        assert!(!t.check_challenge("1.x.y", "1"));
    }

    #[test]
    fn captcha_and_tokens() {
        let t = Tokens::new(&[7u8; 32]);
        let (n, a) = t.captcha();
        assert!(t.check_captcha(&n, &a.to_lowercase()));
        assert!(!t.check_captcha(&n, "AAAAAA") || a == "AAAAAA");
        let tok = t.token(now_s(), 0);
        let st = state(&t, [tok.as_str()]);
        assert_eq!(st.challenge_age_s, Some(0));
        assert_eq!(st.captcha_age_s, None);
        let mut forged = tok.clone();
        forged.replace_range(0..1, "9");
        assert_eq!(state(&t, [forged.as_str()]), TokenState::default());
        // The first valid candidate counts.
        assert_eq!(state(&t, ["junk", tok.as_str()]).challenge_age_s, Some(0));
        let page = captcha_page(&n, &a, "/x?a=<b>");
        assert!(page.contains("/x?a=&lt;b&gt;"));
    }
}
