//! Lambda zips: one per binary, built deterministically so unchanged code has an unchanged key
//! (`lambda/<binary>/<sha256>.zip`) and is neither uploaded nor redeployed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::progress::Progress;

/// Where every Lambda zip lives in an artifact bucket: `lambda/<binary>/<sha256>.zip`. The
/// central bucket's policy lets the organisation's StackSets roles read this prefix only.
pub const ARTIFACT_PREFIX: &str = "lambda/";

/// Where the rule binaries come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `cargo lambda build --release --arm64 --output-format zip --locked` in this workspace,
    /// with the `cargo` program given (normally `cargo` on the PATH).
    CargoLambda { workspace: PathBuf, cargo: PathBuf },
    /// Zips already built: `DIR/<binary>/bootstrap.zip`.
    LambdaDir(PathBuf),
    /// Executables already built: `DIR/<binary>`, packaged as `bootstrap`.
    BootstrapDir(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub binary: String,
    pub key: String,
    /// Shared, not copied, by every upload of it.
    pub zip: Bytes,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    #[error(
        "cannot run `cargo lambda` (`scripts/package` installs the pinned, hash-checked \
         cargo-lambda and Zig; or pass --lambda-dir with zips it built)"
    )]
    Spawn(#[source] std::io::Error),
    #[error("`cargo lambda build` failed ({0})")]
    Build(std::process::ExitStatus),
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} holds no `bootstrap`", path.display())]
    NoBootstrap { path: PathBuf },
    #[error("cannot write the zip of {binary}")]
    Zip {
        binary: String,
        source: std::io::Error,
    },
}

/// Packages every binary; `packages` are the crates that hold them (for cargo lambda).
pub fn package(
    source: &Source,
    packages: &BTreeSet<String>,
    binaries: &BTreeSet<String>,
) -> Result<BTreeMap<String, Artifact>, PackageError> {
    match source {
        Source::CargoLambda { workspace, cargo } => {
            let mut command = Command::new(cargo);
            command.current_dir(workspace).args([
                "lambda",
                "build",
                "--release",
                "--arm64",
                "--output-format",
                "zip",
                // The rule code ships with exactly the dependencies Cargo.lock pins.
                "--locked",
            ]);
            for package in packages {
                command.args(["-p", package]);
            }
            let status = command.status().map_err(PackageError::Spawn)?;
            if !status.success() {
                return Err(PackageError::Build(status));
            }
            package(
                &Source::LambdaDir(workspace.join("target/lambda")),
                packages,
                binaries,
            )
        }
        Source::LambdaDir(dir) => each_binary(binaries, |binary| {
            let path = dir.join(binary).join("bootstrap.zip");
            let bytes = read(&path)?;
            artifact(binary, &bootstrap_of(&path, &bytes)?)
        }),
        Source::BootstrapDir(dir) => each_binary(binaries, |binary| {
            artifact(binary, &read(&dir.join(binary))?)
        }),
    }
}

/// Packages the binaries side by side (compressing and hashing a debug build's binaries takes
/// seconds each), with progress on stderr.
fn each_binary(
    binaries: &BTreeSet<String>,
    make: impl Fn(&str) -> Result<Artifact, PackageError> + Sync,
) -> Result<BTreeMap<String, Artifact>, PackageError> {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let names: Vec<&String> = binaries.iter().collect();
    let next = AtomicUsize::new(0);
    let progress = Mutex::new(Progress::new("binaries packaged", names.len(), false));
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(names.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let packaged = make(name);
                        if let Ok(mut p) = progress.lock() {
                            let outcome = match &packaged {
                                Ok(a) => format!("{} bytes zipped", a.zip.len()),
                                Err(e) => e.to_string(),
                            };
                            p.finish_one(name, &outcome, 0);
                        }
                        out.push(packaged);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<_>>()
    });
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    let mut out = BTreeMap::new();
    for packaged in results {
        let artifact = packaged?;
        out.insert(artifact.binary.clone(), artifact);
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>, PackageError> {
    std::fs::read(path).map_err(|source| PackageError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn bootstrap_of(path: &Path, zip: &[u8]) -> Result<Vec<u8>, PackageError> {
    let no_bootstrap = || PackageError::NoBootstrap {
        path: path.to_path_buf(),
    };
    let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(|_| no_bootstrap())?;
    let mut entry = archive.by_name("bootstrap").map_err(|_| no_bootstrap())?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|source| PackageError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(bytes)
}

/// A zip with one executable `bootstrap`, the same bytes for the same binary: fixed time,
/// fixed permissions.
pub fn artifact(binary: &str, bootstrap: &[u8]) -> Result<Artifact, PackageError> {
    let zip_error = |source| PackageError::Zip {
        binary: binary.to_owned(),
        source,
    };
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    writer
        .start_file("bootstrap", options)
        .map_err(|e| zip_error(std::io::Error::other(e)))?;
    writer.write_all(bootstrap).map_err(zip_error)?;
    let zip = writer
        .finish()
        .map_err(|e| zip_error(std::io::Error::other(e)))?
        .into_inner();
    let digest = hex::encode(Sha256::digest(&zip));
    Ok(Artifact {
        binary: binary.to_owned(),
        key: format!("{ARTIFACT_PREFIX}{binary}/{digest}.zip"),
        zip: Bytes::from(zip),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_binary_gives_the_same_key_and_another_a_new_one() {
        let a = artifact("x-rule", b"\x7fELF one").unwrap();
        let again = artifact("x-rule", b"\x7fELF one").unwrap();
        let b = artifact("x-rule", b"\x7fELF two").unwrap();
        assert_eq!(a, again);
        assert_ne!(a.key, b.key);
        assert!(a.key.starts_with("lambda/x-rule/"));
        assert_eq!(a.key.len(), "lambda/x-rule/".len() + 64 + ".zip".len());
    }

    #[test]
    fn a_cargo_lambda_zip_is_repackaged_from_its_bootstrap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("x-rule")).unwrap();
        // Another zip of the same binary, with other metadata, as another build would make.
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(DateTime::from_date_and_time(2026, 5, 1, 10, 0, 0).unwrap());
        writer.start_file("bootstrap", options).unwrap();
        writer.write_all(b"\x7fELF one").unwrap();
        let zip = writer.finish().unwrap().into_inner();
        std::fs::write(dir.path().join("x-rule/bootstrap.zip"), zip).unwrap();

        let binaries = BTreeSet::from(["x-rule".to_owned()]);
        let packaged = package(
            &Source::LambdaDir(dir.path().to_path_buf()),
            &BTreeSet::new(),
            &binaries,
        )
        .unwrap();
        assert_eq!(
            packaged["x-rule"],
            artifact("x-rule", b"\x7fELF one").unwrap()
        );
    }

    /// A stand-in for `cargo` that records its arguments and exits with `status`; the zips it
    /// would build are laid out beforehand.
    fn fake_cargo(dir: &Path, status: i32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("fake-cargo");
        let log = dir.join("cargo-args");
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$@\" > '{}'\nexit {status}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn cargo_lambda_builds_arm64_release_zips_of_the_rule_crates_then_they_are_packaged() {
        let workspace = tempfile::tempdir().unwrap();
        let built = workspace.path().join("target/lambda/x-rule");
        std::fs::create_dir_all(&built).unwrap();
        let zip = artifact("x-rule", b"\x7fELF arm64").unwrap().zip;
        std::fs::write(built.join("bootstrap.zip"), zip).unwrap();
        let cargo = fake_cargo(workspace.path(), 0);

        let packaged = package(
            &Source::CargoLambda {
                workspace: workspace.path().to_path_buf(),
                cargo,
            },
            &BTreeSet::from(["x-rule".to_owned(), "y-rule".to_owned()]),
            &BTreeSet::from(["x-rule".to_owned()]),
        )
        .unwrap();

        let args = std::fs::read_to_string(workspace.path().join("cargo-args")).unwrap();
        assert_eq!(
            args.trim(),
            "lambda build --release --arm64 --output-format zip --locked -p x-rule -p y-rule"
        );
        assert_eq!(
            packaged["x-rule"],
            artifact("x-rule", b"\x7fELF arm64").unwrap()
        );
    }

    #[test]
    fn a_failed_cargo_lambda_build_is_an_error_and_packages_nothing() {
        let workspace = tempfile::tempdir().unwrap();
        let cargo = fake_cargo(workspace.path(), 101);
        let err = package(
            &Source::CargoLambda {
                workspace: workspace.path().to_path_buf(),
                cargo,
            },
            &BTreeSet::from(["x-rule".to_owned()]),
            &BTreeSet::from(["x-rule".to_owned()]),
        )
        .unwrap_err();
        assert!(matches!(err, PackageError::Build(_)), "{err}");
        assert!(err.to_string().contains("101"), "{err}");
    }

    #[test]
    fn a_missing_binary_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let binaries = BTreeSet::from(["absent".to_owned()]);
        let err = package(
            &Source::BootstrapDir(dir.path().to_path_buf()),
            &BTreeSet::new(),
            &binaries,
        )
        .unwrap_err();
        assert!(err.to_string().ends_with("absent"), "{err}");
    }
}
