//! Just enough of the PostgreSQL frontend protocol (v3) for the PostgreSQL rotator: connect,
//! authenticate (SCRAM-SHA-256 or cleartext), run simple queries, and report the server's
//! error message. Plain TCP: meant for databases on loopback or a private network.
use aws_lc_rs::{digest, hmac, pbkdf2};
use base64::Engine as _;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::num::NonZeroU32;
use std::time::Duration;
use zeroize::Zeroizing;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Where to connect and as whom.
pub struct Conn<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a str,
    pub dbname: &'a str,
}

struct Wire {
    s: TcpStream,
}

impl Wire {
    fn send(&mut self, tag: Option<u8>, body: &[u8]) -> Result<(), String> {
        let mut msg = Vec::with_capacity(body.len() + 5);
        if let Some(t) = tag {
            msg.push(t);
        }
        let len = u32::try_from(body.len() + 4).map_err(|_| "message too long".to_string())?;
        msg.extend_from_slice(&len.to_be_bytes());
        msg.extend_from_slice(body);
        self.s.write_all(&msg).map_err(|e| format!("write: {e}"))
    }

    fn recv(&mut self) -> Result<(u8, Vec<u8>), String> {
        let mut head = [0u8; 5];
        self.s
            .read_exact(&mut head)
            .map_err(|e| format!("read: {e}"))?;
        let [tag, a, b, c, d] = head;
        let len = u32::from_be_bytes([a, b, c, d]) as usize;
        if !(4..=1 << 24).contains(&len) {
            return Err("bad message length".into());
        }
        let mut body = vec![0u8; len - 4];
        self.s
            .read_exact(&mut body)
            .map_err(|e| format!("read: {e}"))?;
        Ok((tag, body))
    }
}

/// The `M` (message) field of an ErrorResponse.
fn error_message(body: &[u8]) -> String {
    let mut rest = body;
    while let Some((&code, tail)) = rest.split_first() {
        if code == 0 {
            break;
        }
        let end = tail.iter().position(|b| *b == 0).unwrap_or(tail.len());
        if code == b'M' {
            return String::from_utf8_lossy(tail.get(..end).unwrap_or_default()).into_owned();
        }
        rest = tail.get(end + 1..).unwrap_or_default();
    }
    "error".to_string()
}

fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

fn scram(w: &mut Wire, password: &str) -> Result<(), String> {
    let mut nonce_bytes = [0u8; 18];
    rampart_core::ids::random_bytes(&mut nonce_bytes);
    let nonce = B64.encode(nonce_bytes);
    let client_first_bare = format!("n=,r={nonce}");
    let client_first = format!("n,,{client_first_bare}");
    let mut body = b"SCRAM-SHA-256\0".to_vec();
    let len = u32::try_from(client_first.len()).map_err(|_| "too long")?;
    body.extend_from_slice(&len.to_be_bytes());
    body.extend_from_slice(client_first.as_bytes());
    w.send(Some(b'p'), &body)?;
    let (tag, body) = w.recv()?;
    if tag == b'E' {
        return Err(error_message(&body));
    }
    if tag != b'R' || be_u32(&body) != Some(11) {
        return Err("unexpected SASL message".into());
    }
    let server_first = String::from_utf8(body.get(4..).unwrap_or_default().to_vec())
        .map_err(|_| "bad SASL data")?;
    let mut r = None;
    let mut salt = None;
    let mut iters = None;
    for part in server_first.split(',') {
        match part.split_at_checked(2) {
            Some(("r=", v)) => r = Some(v.to_string()),
            Some(("s=", v)) => salt = B64.decode(v).ok(),
            Some(("i=", v)) => iters = v.parse::<u32>().ok().and_then(NonZeroU32::new),
            _ => {}
        }
    }
    let (Some(r), Some(salt), Some(iters)) = (r, salt, iters) else {
        return Err("bad SCRAM server-first message".into());
    };
    if !r.starts_with(&nonce) {
        return Err("bad SCRAM nonce".into());
    }
    let mut salted = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iters,
        &salt,
        password.as_bytes(),
        &mut salted[..],
    );
    let salted_key = hmac::Key::new(hmac::HMAC_SHA256, &salted[..]);
    let client_key = hmac::sign(&salted_key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let without_proof = format!("c=biws,r={r}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let sig = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, stored_key.as_ref()),
        auth_message.as_bytes(),
    );
    let proof: Vec<u8> = client_key
        .as_ref()
        .iter()
        .zip(sig.as_ref())
        .map(|(a, b)| a ^ b)
        .collect();
    let client_final = format!("{without_proof},p={}", B64.encode(proof));
    w.send(Some(b'p'), client_final.as_bytes())?;
    let (tag, body) = w.recv()?;
    if tag == b'E' {
        return Err(error_message(&body));
    }
    if tag != b'R' || be_u32(&body) != Some(12) {
        return Err("unexpected SASL final message".into());
    }
    // Verify the server knows the password too.
    let server_key = hmac::sign(&salted_key, b"Server Key");
    let expect = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, server_key.as_ref()),
        auth_message.as_bytes(),
    );
    let final_msg = String::from_utf8_lossy(body.get(4..).unwrap_or_default()).into_owned();
    if final_msg
        .strip_prefix("v=")
        .and_then(|v| B64.decode(v).ok())
        .as_deref()
        != Some(expect.as_ref())
    {
        return Err("the server's SCRAM signature does not verify".into());
    }
    Ok(())
}

/// Connects, authenticates and runs each query (simple query protocol).
pub fn run(c: &Conn<'_>, queries: &[&str]) -> Result<(), String> {
    let addr = (c.host, c.port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve: {e}"))?
        .next()
        .ok_or("no address")?;
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("connect: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(30)));
    let mut w = Wire { s };
    let mut startup = 196_608u32.to_be_bytes().to_vec();
    for (k, v) in [("user", c.user), ("database", c.dbname)] {
        startup.extend_from_slice(k.as_bytes());
        startup.push(0);
        startup.extend_from_slice(v.as_bytes());
        startup.push(0);
    }
    startup.push(0);
    w.send(None, &startup)?;
    loop {
        let (tag, body) = w.recv()?;
        match (tag, be_u32(&body)) {
            (b'E', _) => return Err(error_message(&body)),
            (b'R', Some(0)) => {}
            (b'R', Some(3)) => {
                let mut p = c.password.as_bytes().to_vec();
                p.push(0);
                w.send(Some(b'p'), &p)?;
            }
            (b'R', Some(10)) => scram(&mut w, c.password)?,
            (b'R', Some(n)) => return Err(format!("unsupported authentication method {n}")),
            (b'Z', _) => break,
            _ => {}
        }
    }
    for q in queries {
        let mut body = q.as_bytes().to_vec();
        body.push(0);
        w.send(Some(b'Q'), &body)?;
        let mut err = None;
        loop {
            let (tag, body) = w.recv()?;
            match tag {
                b'E' => err = Some(error_message(&body)),
                b'Z' => break,
                _ => {}
            }
        }
        if let Some(e) = err {
            return Err(e);
        }
    }
    let _ = w.send(Some(b'X'), &[]);
    Ok(())
}

/// `"name"` with embedded quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `'text'` with embedded quotes doubled (standard_conforming_strings: backslashes are
/// literal).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
#[path = "tests/pg.rs"]
mod tests;
