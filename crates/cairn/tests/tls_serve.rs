//! `cairn serve --tls-cert/--tls-key`: the real binary with a self-signed certificate made
//! in the test (rcgen) answers over `https://` a rustls client trusting that certificate and
//! boto3 (skipped, saying so, when `/work/venv` or `CAIRN_PYTHON` is missing outside CI);
//! plain `http://` gets no answer.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Tls {
    _dir: tempfile::TempDir,
    cert_pem: String,
    cert_path: std::path::PathBuf,
    port: u16,
    _node: Node,
}

fn start() -> Tls {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("self-signed certificate");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(dir.path().join("cairn.db"))
        .arg("--tls-cert")
        .arg(&cert_path)
        .arg("--tls-key")
        .arg(&key_path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start cairn serve");
    let begin = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("cairn serve exited: {status}");
        }
        assert!(begin.elapsed() < Duration::from_secs(30), "no server");
        std::thread::sleep(Duration::from_millis(20));
    }
    Tls {
        cert_pem: cert.cert.pem(),
        cert_path,
        port,
        _dir: dir,
        _node: Node(child),
    }
}

#[tokio::test]
async fn serves_https_to_a_client_trusting_the_certificate() {
    let tls = start();
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_slice(tls.cert_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", tls.port))
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = connector.connect(name, tcp).await.expect("TLS handshake");
    let body = r#"{"name":"over-tls"}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
         content-type: application/x-amz-json-1.0\r\n\
         x-amz-target: AWSStepFunctions.CreateActivity\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(":activity:over-tls"), "{answer}");

    // Plain http to the TLS port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", tls.port))
        .await
        .unwrap();
    plain.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), plain.read_to_end(&mut answer)).await;
    assert!(!String::from_utf8_lossy(&answer).contains("activity"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_talks_to_it_over_https() {
    let python = std::env::var("CAIRN_PYTHON").unwrap_or("/work/venv/bin/python".into());
    if !std::path::Path::new(&python).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "boto3 missing in CI"
        );
        eprintln!("skipped: no Python with boto3 at {python}");
        return;
    }
    let tls = start();
    let script = r#"
import sys, boto3
c = boto3.client('stepfunctions', endpoint_url=sys.argv[1], region_name='us-east-1',
    aws_access_key_id='a', aws_secret_access_key='b', verify=sys.argv[2])
print(c.create_activity(name='boto-tls')['activityArn'])
"#;
    let out = tokio::process::Command::new(&python)
        .args(["-c", script, &format!("https://localhost:{}", tls.port)])
        .arg(&tls.cert_path)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.trim().ends_with(":activity:boto-tls"), "{text}");
}
