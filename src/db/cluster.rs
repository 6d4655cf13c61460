//! A private PostgreSQL cluster run from the installed server binaries.
//!
//! Without `DATABASE_URL`, `serve`, the other commands and the test suite start a cluster of
//! their own in a data folder: `initdb` on first use, then `pg_ctl start`, listening only on a
//! Unix socket inside a folder only its owner can enter. When the process runs as root the
//! binaries run as the `postgres` system user, because PostgreSQL refuses to run as root.
//!
//! The process that starts the cluster stops it on shutdown. A small watchdog shell process also
//! stops it (and, for throwaway test clusters, deletes it) if the owner dies without cleaning up.

use std::{
    ffi::OsStr,
    fs,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use diesel::{pg::PgConnection, sql_query, sql_types::Text, Connection, RunQueryDsl};
use thiserror::Error;

/// The database the application uses inside a private cluster.
pub const APPLICATION_DATABASE: &str = "bac_metrics";
/// The superuser `initdb` creates; only reachable through the private socket.
const SUPERUSER: &str = "bac_metrics";
/// Socket file names embed the port; the socket folder is private, so the standard port is safe.
const PORT: u16 = 5432;

/// Why a private cluster could not be used.
#[derive(Debug, Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH, through \
         `pg_config --bindir`, or under /usr/lib/postgresql/*/bin. Install PostgreSQL's server \
         package (for example `apt-get install postgresql`) or set DATABASE_URL to an existing server."
    )]
    BinariesNotFound,
    #[error(
        "running as root, the private PostgreSQL must run as the `postgres` system user, which \
         does not exist. Install PostgreSQL's server package (it creates the user) or set DATABASE_URL."
    )]
    NoPostgresUser,
    #[error("{action} failed: {detail}")]
    Command { action: String, detail: String },
    #[error("could not prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not connect to the private PostgreSQL: {0}")]
    Connect(String),
    #[error(
        "running as root, the private PostgreSQL runs as the `postgres` system user, which cannot \
         enter {} (mode {mode:03o}) and so cannot reach the data folder {}. Set DATA_DIR to a folder \
         it can reach (for example DATA_DIR=/var/lib/bac-metrics), or set DATABASE_URL.",
        blocking.display(),
        data_folder.display()
    )]
    Unreachable {
        blocking: PathBuf,
        mode: u32,
        data_folder: PathBuf,
    },
}

/// How the cluster is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Data is kept between runs (the demo server).
    Durable,
    /// Throwaway (tests): no fsync, deleted by the watchdog when the owner exits.
    Throwaway,
}

/// A system account the server binaries run as.
#[derive(Debug, Clone, Copy)]
struct SystemUser {
    uid: u32,
    gid: u32,
}

/// A running private PostgreSQL cluster.
#[derive(Debug)]
pub struct PrivateCluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    run_as: Option<SystemUser>,
    /// True when this process started the server and so must stop it.
    owned: bool,
}

impl PrivateCluster {
    /// Starts (or joins, if already running) the cluster kept under `root`.
    pub fn start(root: &Path, durability: Durability) -> Result<Self, ClusterError> {
        let bin_dir = find_server_binaries().ok_or(ClusterError::BinariesNotFound)?;
        let run_as = if is_root() {
            Some(postgres_system_user().ok_or(ClusterError::NoPostgresUser)?)
        } else {
            None
        };
        create_dir(root, 0o755, None)?;
        let root = fs::canonicalize(root).map_err(|source| ClusterError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        if let Some(user) = run_as {
            check_reachable(&root, user)?;
        }
        let data_dir = root.join("pgdata");
        let socket_dir = socket_dir_for(&root);
        create_dir(&data_dir, 0o700, run_as)?;
        create_dir(&socket_dir, 0o700, run_as)?;

        let mut cluster = Self {
            log_file: data_dir.join("server.log"),
            bin_dir,
            data_dir,
            socket_dir,
            run_as,
            owned: false,
        };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb(durability)?;
        }
        cluster.write_settings(durability)?;
        if !cluster.is_running() {
            cluster.pg_ctl_start()?;
            cluster.owned = true;
            cluster.spawn_watchdog(&root, durability);
        }
        cluster.ensure_database(APPLICATION_DATABASE)?;
        Ok(cluster)
    }

    /// Starts a streaming replica of `primary` under `root`: `pg_basebackup -R` (which writes
    /// the standby signal and `primary_conninfo`), then `pg_ctl start`. The replica listens on
    /// a socket folder of its own and follows the primary over its replication connection.
    /// Throwaway, like the test clusters it serves.
    pub fn start_replica_of(primary: &PrivateCluster, root: &Path) -> Result<Self, ClusterError> {
        create_dir(root, 0o755, None)?;
        let root = fs::canonicalize(root).map_err(|source| ClusterError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let data_dir = root.join("pgdata");
        let socket_dir = socket_dir_for(&root);
        create_dir(&data_dir, 0o700, primary.run_as)?;
        create_dir(&socket_dir, 0o700, primary.run_as)?;
        // `pg_basebackup` ships beside `initdb` in the server's own folder, which a folder on
        // PATH holding links to the server binaries may not mirror.
        let bin_dir = fs::canonicalize(primary.bin_dir.join("initdb"))
            .ok()
            .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| primary.bin_dir.clone());
        let mut replica = Self {
            log_file: data_dir.join("server.log"),
            bin_dir,
            data_dir,
            socket_dir,
            run_as: primary.run_as,
            owned: false,
        };
        replica.run_server_binary(
            "pg_basebackup",
            [
                OsStr::new("-D"),
                replica.data_dir.as_os_str(),
                OsStr::new("-d"),
                OsStr::new(&primary.database_url("postgres")),
                OsStr::new("-R"),
                OsStr::new("-X"),
                OsStr::new("stream"),
                OsStr::new("--no-sync"),
                OsStr::new("-c"),
                OsStr::new("fast"),
            ],
        )?;
        // The copied settings name the primary's socket folder; the replica gets its own.
        replica.write_settings(Durability::Throwaway)?;
        replica.pg_ctl_start()?;
        replica.owned = true;
        replica.spawn_watchdog(&root, Durability::Throwaway);
        Ok(replica)
    }

    /// Starts the server again after [`PrivateCluster::stop`] (a replica resumes streaming).
    pub fn start_again(&mut self) -> Result<(), ClusterError> {
        if !self.is_running() {
            self.pg_ctl_start()?;
            self.owned = true;
        }
        Ok(())
    }

    /// A libpq URL for `database` in this cluster, through its private socket.
    pub fn database_url(&self, database: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@/{database}?host={}&port={PORT}",
            percent_encode(&self.socket_dir.to_string_lossy())
        )
    }

    /// Creates `database` if it does not exist yet.
    pub fn ensure_database(&self, database: &str) -> Result<(), ClusterError> {
        #[derive(diesel::QueryableByName)]
        struct Found {
            #[diesel(sql_type = Text)]
            #[allow(dead_code)]
            datname: String,
        }
        let mut connection = PgConnection::establish(&self.database_url("postgres"))
            .map_err(|error| ClusterError::Connect(error.to_string()))?;
        let existing: Vec<Found> = sql_query("SELECT datname FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(database)
            .load(&mut connection)
            .map_err(|error| ClusterError::Connect(error.to_string()))?;
        if existing.is_empty() {
            sql_query(format!("CREATE DATABASE \"{}\"", database.replace('"', "")))
                .execute(&mut connection)
                .map_err(|error| ClusterError::Connect(error.to_string()))?;
        }
        Ok(())
    }

    /// Stops the server if this process started it. Safe to call more than once.
    pub fn stop(&self) {
        if !self.owned || !self.is_running() {
            return;
        }
        let result = self.run_server_binary(
            "pg_ctl",
            [
                OsStr::new("stop"),
                OsStr::new("-D"),
                self.data_dir.as_os_str(),
                OsStr::new("-m"),
                OsStr::new("fast"),
                OsStr::new("-w"),
            ],
        );
        if let Err(error) = result {
            tracing::warn!(%error, "could not stop the private PostgreSQL cluster");
        }
    }

    fn initdb(&self, durability: Durability) -> Result<(), ClusterError> {
        let mut arguments = vec![
            OsStr::new("-D").to_os_string(),
            self.data_dir.as_os_str().to_os_string(),
            format!("--username={SUPERUSER}").into(),
            "--auth=trust".into(),
            "--encoding=UTF8".into(),
            "--no-locale".into(),
        ];
        if durability == Durability::Throwaway {
            arguments.push("--no-sync".into());
        }
        self.run_server_binary("initdb", arguments).map(drop)
    }

    /// Settings rewritten at every start, so a moved data folder still finds its socket.
    fn write_settings(&self, durability: Durability) -> Result<(), ClusterError> {
        let main_config = self.data_dir.join("postgresql.conf");
        let include_line = "include_if_exists = 'bac-metrics.conf'";
        let current = fs::read_to_string(&main_config).map_err(|source| ClusterError::Io {
            path: main_config.clone(),
            source,
        })?;
        if !current.contains(include_line) {
            fs::write(&main_config, format!("{current}\n{include_line}\n")).map_err(|source| {
                ClusterError::Io {
                    path: main_config.clone(),
                    source,
                }
            })?;
        }
        let mut settings = format!(
            "# Written by bac-metrics at every start.\n\
             listen_addresses = ''\n\
             port = {PORT}\n\
             unix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\n\
             max_connections = 200\n\
             timezone = 'UTC'\n\
             shared_buffers = '512MB'\n\
             max_wal_size = '4GB'\n\
             checkpoint_completion_target = 0.9\n",
            self.socket_dir.to_string_lossy().replace('\'', "''")
        );
        if durability == Durability::Throwaway {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let path = self.data_dir.join("bac-metrics.conf");
        fs::write(&path, settings).map_err(|source| ClusterError::Io {
            path: path.clone(),
            source,
        })?;
        if let Some(user) = self.run_as {
            chown(&path, user)?;
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.server_command("pg_ctl")
            .args([
                OsStr::new("status"),
                OsStr::new("-D"),
                self.data_dir.as_os_str(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
    }

    fn pg_ctl_start(&self) -> Result<(), ClusterError> {
        self.run_server_binary(
            "pg_ctl",
            [
                OsStr::new("start"),
                OsStr::new("-D"),
                self.data_dir.as_os_str(),
                OsStr::new("-l"),
                self.log_file.as_os_str(),
                OsStr::new("-w"),
                OsStr::new("-t"),
                OsStr::new("60"),
            ],
        )
        .map(drop)
        .map_err(|error| match error {
            ClusterError::Command { action, detail } => ClusterError::Command {
                action,
                detail: format!("{detail} (server log: {})", self.log_file.display()),
            },
            other => other,
        })
    }

    /// Stops the server (and removes a throwaway cluster) once this process is gone, even if it
    /// died without running its shutdown code. It only signals the postmaster it was started for.
    fn spawn_watchdog(&self, root: &Path, durability: Durability) {
        let Some(postmaster_pid) = fs::read_to_string(self.data_dir.join("postmaster.pid"))
            .ok()
            .and_then(|contents| contents.lines().next().map(str::to_owned))
        else {
            return;
        };
        let cleanup = if durability == Durability::Throwaway {
            "while kill -0 \"$PGPID\" 2>/dev/null; do sleep 0.2; done; rm -rf \"$ROOT\""
        } else {
            ""
        };
        let script = format!(
            "while kill -0 \"$APP\" 2>/dev/null; do sleep 1; done; \
             if [ \"$(head -n 1 \"$DATA/postmaster.pid\" 2>/dev/null)\" = \"$PGPID\" ]; then \
             kill -INT \"$PGPID\"; fi; {cleanup}"
        );
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("APP", std::process::id().to_string())
            .env("PGPID", postmaster_pid.trim())
            .env("DATA", &self.data_dir)
            .env("ROOT", root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start the PostgreSQL watchdog");
        }
    }

    fn server_command(&self, binary: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(binary));
        // The server binaries may not be allowed into the caller's working directory.
        command.current_dir(&self.data_dir);
        if let Some(user) = self.run_as {
            command.uid(user.uid).gid(user.gid);
        }
        command
    }

    fn run_server_binary<I, S>(&self, binary: &str, arguments: I) -> Result<Output, ClusterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = self
            .server_command(binary)
            .args(arguments)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| ClusterError::Command {
                action: binary.to_owned(),
                detail: error.to_string(),
            })?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(ClusterError::Command {
                action: binary.to_owned(),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where `initdb` and `pg_ctl` live: PATH, then `pg_config --bindir`, then Debian's layout.
pub fn find_server_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_both(dir)) {
            return Some(dir);
        }
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if output.status.success() && has_both(&dir) {
            return Some(dir);
        }
    }
    let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let dir = entry.path().join("bin");
            has_both(&dir).then_some((version, dir))
        })
        .collect();
    versioned.sort();
    versioned.pop().map(|(_, dir)| dir)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn postgres_system_user() -> Option<SystemUser> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() > 3 && fields[0] == "postgres" {
            Some(SystemUser {
                uid: fields[2].parse().ok()?,
                gid: fields[3].parse().ok()?,
            })
        } else {
            None
        }
    })
}

/// Unix socket paths are limited to ~107 bytes; a deep data folder puts its socket under /tmp.
fn socket_dir_for(root: &Path) -> PathBuf {
    let preferred = root.join("socket");
    if preferred.as_os_str().len() + "/.s.PGSQL.5432".len() < 100 {
        return preferred;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(root.as_os_str().as_encoded_bytes());
    std::env::temp_dir().join(format!("bac-metrics-{}", hex::encode(&digest[..6])))
}

fn create_dir(path: &Path, mode: u32, owner: Option<SystemUser>) -> Result<(), ClusterError> {
    let io_error = |source| ClusterError::Io {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(path).map_err(io_error)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_error)?;
    if let Some(user) = owner {
        chown(path, user)?;
    }
    Ok(())
}

/// Refuses, in one sentence, a data folder `user` cannot reach: every folder on the way must let
/// it pass (search permission), or `initdb` fails with a bare "Permission denied" (a clone under
/// `/root`, mode 700, is the usual case).
fn check_reachable(folder: &Path, user: SystemUser) -> Result<(), ClusterError> {
    use std::os::unix::fs::MetadataExt;
    for ancestor in folder.ancestors() {
        let Ok(metadata) = fs::metadata(ancestor) else {
            continue;
        };
        let mode = metadata.mode() & 0o777;
        let may_pass = if metadata.uid() == user.uid {
            mode & 0o100 != 0
        } else if metadata.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !may_pass {
            return Err(ClusterError::Unreachable {
                blocking: ancestor.to_path_buf(),
                mode,
                data_folder: folder.to_path_buf(),
            });
        }
    }
    Ok(())
}

fn chown(path: &Path, user: SystemUser) -> Result<(), ClusterError> {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).map_err(|source| {
        ClusterError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Percent-encodes everything but unreserved characters, for a libpq URI query value.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_stays_short() {
        let deep = PathBuf::from(format!("/{}", "deep-folder/".repeat(12)));
        assert!(socket_dir_for(&deep).as_os_str().len() < 100);
        assert_eq!(
            socket_dir_for(Path::new("/srv/bac")),
            PathBuf::from("/srv/bac/socket")
        );
    }

    #[test]
    fn a_data_folder_behind_a_private_folder_is_refused_in_one_sentence() {
        let base = std::env::temp_dir().join(format!("bac-reach-{}", std::process::id()));
        let private = base.join("home");
        let data = private.join("clone/.bac-metrics");
        fs::create_dir_all(&data).unwrap();
        fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
        // Someone who owns neither folder nor shares their group.
        let stranger = SystemUser {
            uid: 54_321,
            gid: 54_321,
        };
        let message = check_reachable(&data, stranger).unwrap_err().to_string();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o755)).unwrap();
        let reachable = check_reachable(&data, stranger);
        fs::remove_dir_all(&base).unwrap();
        assert!(
            message.contains(&format!("cannot enter {} (mode 700)", private.display())),
            "{message}"
        );
        assert!(message.contains("Set DATA_DIR"), "{message}");
        assert!(reachable.is_ok());
    }

    #[test]
    fn url_encodes_the_socket_folder() {
        assert_eq!(percent_encode("/tmp/a b"), "%2Ftmp%2Fa%20b");
    }
}
