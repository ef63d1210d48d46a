//! Request templates. Adding an operation is one entry in [`OPS`].

use anyhow::{bail, Result};

/// Wire protocol of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// AWS Query: form-encoded POST to `/`, `Action` and `Version` in the body.
    Query,
    /// JSON 1.0 / 1.1: POST to `/` with `X-Amz-Target`.
    Json(&'static str),
}

impl Proto {
    pub fn content_type(self) -> &'static str {
        match self {
            Proto::Query => "application/x-www-form-urlencoded; charset=utf-8",
            Proto::Json("1.0") => "application/x-amz-json-1.0",
            Proto::Json(_) => "application/x-amz-json-1.1",
        }
    }
}

/// A request sent once before the run (e.g. creating the secret that is then read). Its
/// failure is reported and the run goes on (an "already exists" answer is the usual one).
/// String members of its JSON answer (top level and one level down, e.g. `KeyMetadata.KeyId`
/// as `KeyId`) become variables that later setup bodies and the op's body name as `${Name}`;
/// `${Plaintext1K}` is 1,024 bytes, base64; `${RunId}` is unique to the run.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub target: Option<&'static str>,
    pub body: &'static str,
    /// Sent this many times, `${Index}` counting from 0 (the op's [`OpTemplate::spread`]
    /// resources).
    pub repeat: usize,
}

/// One operation the bench knows by name.
#[derive(Clone, Copy, Debug)]
pub struct OpTemplate {
    /// `service:Operation`, as given to `--op`.
    pub name: &'static str,
    /// SigV4 signing name.
    pub service: &'static str,
    pub proto: Proto,
    /// `X-Amz-Target` (JSON protocols).
    pub target: Option<&'static str>,
    pub body: &'static str,
    pub setup: &'static [Setup],
    /// Spreads the requests over this many resources: `${Slot}` in the body becomes
    /// (request number / [`PER_SLOT`]) modulo `spread` (0: no spreading).
    pub spread: usize,
}

/// Requests sent to one resource before the next (`${Slot}`): Secrets Manager keeps at most
/// 100 versions of a secret, none removed before it is a day old.
pub const PER_SLOT: u64 = 90;

/// Secrets the PutSecretValue op spreads its writes over (90 each: 36,000 writes a run).
const PUT_SECRETS: usize = 400;

const CREATE_SYMMETRIC_KEY: Setup = Setup {
    target: Some("TrentService.CreateKey"),
    body: r#"{"Description":"rampart-bench"}"#,
    repeat: 1,
};

pub const OPS: &[OpTemplate] = &[
    OpTemplate {
        name: "sts:GetCallerIdentity",
        service: "sts",
        proto: Proto::Query,
        target: None,
        body: "Action=GetCallerIdentity&Version=2011-06-15",
        setup: &[],
        spread: 0,
    },
    OpTemplate {
        name: "iam:ListUsers",
        service: "iam",
        proto: Proto::Query,
        target: None,
        body: "Action=ListUsers&Version=2010-05-08",
        setup: &[],
        spread: 0,
    },
    OpTemplate {
        name: "kms:GenerateRandom",
        service: "kms",
        proto: Proto::Json("1.1"),
        target: Some("TrentService.GenerateRandom"),
        body: r#"{"NumberOfBytes":32}"#,
        setup: &[],
        spread: 0,
    },
    OpTemplate {
        name: "kms:ListKeys",
        service: "kms",
        proto: Proto::Json("1.1"),
        target: Some("TrentService.ListKeys"),
        body: "{}",
        setup: &[],
        spread: 0,
    },
    OpTemplate {
        name: "kms:Encrypt",
        service: "kms",
        proto: Proto::Json("1.1"),
        target: Some("TrentService.Encrypt"),
        body: r#"{"KeyId":"${KeyId}","Plaintext":"${Plaintext1K}"}"#,
        setup: &[CREATE_SYMMETRIC_KEY],
        spread: 0,
    },
    OpTemplate {
        name: "kms:Decrypt",
        service: "kms",
        proto: Proto::Json("1.1"),
        target: Some("TrentService.Decrypt"),
        body: r#"{"CiphertextBlob":"${CiphertextBlob}"}"#,
        setup: &[
            CREATE_SYMMETRIC_KEY,
            Setup {
                target: Some("TrentService.Encrypt"),
                body: r#"{"KeyId":"${KeyId}","Plaintext":"${Plaintext1K}"}"#,
                repeat: 1,
            },
        ],
        spread: 0,
    },
    OpTemplate {
        name: "kms:GenerateDataKey",
        service: "kms",
        proto: Proto::Json("1.1"),
        target: Some("TrentService.GenerateDataKey"),
        body: r#"{"KeyId":"${KeyId}","KeySpec":"AES_256"}"#,
        setup: &[CREATE_SYMMETRIC_KEY],
        spread: 0,
    },
    OpTemplate {
        name: "kms:Sign",
        service: "kms",
        proto: Proto::Json("1.1"),
        target: Some("TrentService.Sign"),
        body: r#"{"KeyId":"${KeyId}","Message":"cmFtcGFydC1iZW5jaA==","SigningAlgorithm":"ECDSA_SHA_256"}"#,
        setup: &[Setup {
            target: Some("TrentService.CreateKey"),
            body: r#"{"KeySpec":"ECC_NIST_P256","KeyUsage":"SIGN_VERIFY","Description":"rampart-bench"}"#,
            repeat: 1,
        }],
        spread: 0,
    },
    OpTemplate {
        name: "kms:CreateKey",
        service: "kms",
        proto: Proto::Json("1.1"),
        target: Some("TrentService.CreateKey"),
        body: r#"{"Description":"rampart-bench"}"#,
        setup: &[],
        spread: 0,
    },
    OpTemplate {
        name: "secretsmanager:GetSecretValue",
        service: "secretsmanager",
        proto: Proto::Json("1.1"),
        target: Some("secretsmanager.GetSecretValue"),
        body: r#"{"SecretId":"rampart-bench"}"#,
        setup: &[Setup {
            target: Some("secretsmanager.CreateSecret"),
            body: r#"{"Name":"rampart-bench","SecretString":"rampart-bench-value"}"#,
            repeat: 1,
        }],
        spread: 0,
    },
    OpTemplate {
        name: "secretsmanager:PutSecretValue",
        service: "secretsmanager",
        proto: Proto::Json("1.1"),
        target: Some("secretsmanager.PutSecretValue"),
        body: r#"{"SecretId":"rampart-bench-put-${RunId}-${Slot}","SecretString":"rampart-bench-new-value"}"#,
        setup: &[Setup {
            target: Some("secretsmanager.CreateSecret"),
            body: r#"{"Name":"rampart-bench-put-${RunId}-${Index}","SecretString":"rampart-bench-value"}"#,
            repeat: PUT_SECRETS,
        }],
        spread: PUT_SECRETS,
    },
    OpTemplate {
        name: "secretsmanager:ListSecrets",
        service: "secretsmanager",
        proto: Proto::Json("1.1"),
        target: Some("secretsmanager.ListSecrets"),
        body: "{}",
        setup: &[],
        spread: 0,
    },
];

/// The concrete request a run sends (a template with the command line's overrides applied).
#[derive(Clone, Debug)]
pub struct Op {
    pub name: String,
    pub service: String,
    pub content_type: String,
    pub target: Option<String>,
    pub body: Vec<u8>,
    /// Setup requests: target, body, times to send it.
    pub setup: Vec<(Option<String>, Vec<u8>, usize)>,
    /// See [`OpTemplate::spread`].
    pub spread: usize,
}

/// Resolves `--op` with `--body`, `--target`, `--content-type` and `--service` overrides. An
/// unknown `service:Operation` is an ad-hoc op: JSON 1.1 when `--target` is given (body `{}` by
/// default), else Query (then `--body` is required).
pub fn resolve(
    name: &str,
    body: Option<&str>,
    target: Option<&str>,
    content_type: Option<&str>,
    service: Option<&str>,
) -> Result<Op> {
    let Some((svc, action)) = name.split_once(':') else {
        bail!("--op must look like service:Operation (known: {})", known());
    };
    if svc.is_empty() || action.is_empty() {
        bail!("--op must look like service:Operation (known: {})", known());
    }
    let tpl = OPS.iter().find(|o| o.name.eq_ignore_ascii_case(name));
    let (proto, tpl_target, tpl_body, setup, spread) = match tpl {
        Some(t) => (
            t.proto,
            t.target.map(str::to_owned),
            t.body.to_owned(),
            t.setup,
            t.spread,
        ),
        None => match (target, body) {
            (Some(_), b) => (
                Proto::Json("1.1"),
                None,
                b.unwrap_or("{}").to_owned(),
                &[][..],
                0,
            ),
            (None, Some(b)) => (Proto::Query, None, b.to_owned(), &[][..], 0),
            (None, None) => bail!(
                "unknown op '{name}': give --target (JSON 1.1) or --body (Query) for an ad-hoc \
                 operation (known: {})",
                known()
            ),
        },
    };
    let target = target.map(str::to_owned).or(tpl_target);
    let content_type = content_type.map(str::to_owned).unwrap_or_else(|| {
        if tpl.is_none() && target.is_none() {
            Proto::Query.content_type().to_owned()
        } else {
            proto.content_type().to_owned()
        }
    });
    Ok(Op {
        name: tpl
            .map(|t| t.name.to_owned())
            .unwrap_or_else(|| name.to_owned()),
        service: service
            .map(str::to_owned)
            .unwrap_or_else(|| tpl.map(|t| t.service).unwrap_or(svc).to_owned()),
        content_type,
        target,
        body: body.map(str::to_owned).unwrap_or(tpl_body).into_bytes(),
        setup: setup
            .iter()
            .map(|s| {
                (
                    s.target.map(str::to_owned),
                    s.body.as_bytes().to_vec(),
                    s.repeat,
                )
            })
            .collect(),
        spread,
    })
}

pub fn known() -> String {
    OPS.iter().map(|o| o.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn known_and_ad_hoc_ops() {
        let o = resolve("sts:GetCallerIdentity", None, None, None, None).unwrap();
        assert_eq!(o.service, "sts");
        assert_eq!(o.target, None);
        assert_eq!(o.body, b"Action=GetCallerIdentity&Version=2011-06-15");
        assert!(o
            .content_type
            .starts_with("application/x-www-form-urlencoded"));

        let o = resolve(
            "kms:GenerateRandom",
            Some(r#"{"NumberOfBytes":1024}"#),
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(o.target.as_deref(), Some("TrentService.GenerateRandom"));
        assert_eq!(o.content_type, "application/x-amz-json-1.1");
        assert_eq!(o.body, br#"{"NumberOfBytes":1024}"#);

        let o = resolve(
            "events:ListRules",
            None,
            Some("AWSEvents.ListRules"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(o.service, "events");
        assert_eq!(o.body, b"{}");
        assert_eq!(o.content_type, "application/x-amz-json-1.1");

        let o = resolve(
            "iam:GetUser",
            Some("Action=GetUser&Version=2010-05-08"),
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(o.target, None);
        assert!(o
            .content_type
            .starts_with("application/x-www-form-urlencoded"));

        assert!(resolve("iam:GetUser", None, None, None, None).is_err());
        assert!(resolve("GetUser", None, None, None, None).is_err());
    }
}
