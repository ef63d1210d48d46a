//! Where the botocore models come from: a directory or the wheel (a zip file), read with a
//! minimal zip reader (stored and deflated entries; botocore's wheel needs nothing more).
use flate2::read::{DeflateDecoder, GzDecoder};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub enum Source {
    /// The `botocore` package directory (holding `data/` and maybe `__init__.py`).
    Dir(PathBuf),
    Wheel(Zip),
}

impl Source {
    pub fn open(path: &Path) -> Result<Source, String> {
        if path.is_file() {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            return Zip::parse(bytes)
                .map(Source::Wheel)
                .map_err(|e| format!("{}: {e}", path.display()));
        }
        for candidate in [path.join("botocore"), path.to_path_buf(), path.join("..")] {
            if candidate.join("data").is_dir() {
                return Ok(Source::Dir(candidate));
            }
        }
        Err(format!(
            "{}: neither a wheel nor a directory holding botocore/data",
            path.display()
        ))
    }

    fn raw(&self, rel: &str) -> Result<Option<Vec<u8>>, String> {
        match self {
            Source::Dir(d) => {
                let p = d.join(rel);
                if !p.exists() {
                    return Ok(None);
                }
                std::fs::read(&p)
                    .map(Some)
                    .map_err(|e| format!("{}: {e}", p.display()))
            }
            Source::Wheel(z) => z.read(&format!("botocore/{rel}")),
        }
    }

    /// botocore's `__version__`, when the source has `__init__.py`.
    pub fn version(&self) -> Result<Option<String>, String> {
        let Some(init) = self.raw("__init__.py")? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&init);
        Ok(text.lines().find_map(|l| {
            let rest = l
                .strip_prefix("__version__")?
                .trim_start()
                .strip_prefix('=')?
                .trim();
            Some(rest.trim_matches(|c| c == '\'' || c == '"').to_string())
        }))
    }

    /// A model file under `data/`, gunzipped when its name ends in `.gz` (botocore ships
    /// `service-2.json.gz`; a plain `service-2.json` beside it is used when present).
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, String> {
        let plain = rel.strip_suffix(".gz").unwrap_or(rel);
        if let Some(b) = self.raw(&format!("data/{plain}"))? {
            return Ok(b);
        }
        let Some(gz) = self.raw(&format!("data/{rel}"))? else {
            return Err(format!("data/{rel} not found"));
        };
        let mut out = Vec::new();
        GzDecoder::new(gz.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("data/{rel}: {e}"))?;
        Ok(out)
    }
}

pub struct Zip {
    bytes: Vec<u8>,
    /// name -> (method, compressed size, local header offset)
    entries: BTreeMap<String, (u16, usize, usize)>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Zip {
    fn parse(bytes: Vec<u8>) -> Result<Zip, String> {
        // End of central directory: the last PK\x05\x06.
        let eocd = (0..bytes.len().saturating_sub(21))
            .rev()
            .find(|&i| u32_at(&bytes, i) == Some(0x0605_4b50))
            .ok_or("not a zip file")?;
        let count = u16_at(&bytes, eocd + 10).ok_or("truncated")? as usize;
        let mut at = u32_at(&bytes, eocd + 16).ok_or("truncated")? as usize;
        let mut entries = BTreeMap::new();
        for _ in 0..count {
            if u32_at(&bytes, at) != Some(0x0201_4b50) {
                return Err("bad central directory".into());
            }
            let field = |off: usize| u16_at(&bytes, at + off).map(usize::from).ok_or("truncated");
            let method = field(10)? as u16;
            let csize = u32_at(&bytes, at + 20).ok_or("truncated")? as usize;
            let (name_len, extra_len, comment_len) = (field(28)?, field(30)?, field(32)?);
            let offset = u32_at(&bytes, at + 42).ok_or("truncated")? as usize;
            let name = bytes.get(at + 46..at + 46 + name_len).ok_or("truncated")?;
            entries.insert(
                String::from_utf8_lossy(name).into_owned(),
                (method, csize, offset),
            );
            at += 46 + name_len + extra_len + comment_len;
        }
        Ok(Zip { bytes, entries })
    }

    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(&(method, csize, offset)) = self.entries.get(name) else {
            return Ok(None);
        };
        let b = &self.bytes;
        if u32_at(b, offset) != Some(0x0403_4b50) {
            return Err(format!("{name}: bad local header"));
        }
        let name_len = u16_at(b, offset + 26).ok_or("truncated")? as usize;
        let extra_len = u16_at(b, offset + 28).ok_or("truncated")? as usize;
        let start = offset + 30 + name_len + extra_len;
        let data = b
            .get(start..start + csize)
            .ok_or(format!("{name}: truncated"))?;
        match method {
            0 => Ok(Some(data.to_vec())),
            8 => {
                let mut out = Vec::new();
                DeflateDecoder::new(data)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("{name}: {e}"))?;
                Ok(Some(out))
            }
            m => Err(format!("{name}: unsupported compression method {m}")),
        }
    }
}
