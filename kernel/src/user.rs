//! Who the guest starts as (`uml run -u/--user NAME|UID[:GROUP|GID]`, as Docker's): by
//! default root (uml's root, not the host's: guest ids never become host privileges),
//! else the named user, looked up in the guest root's `/etc/passwd` and `/etc/group`.
//! Files the guest creates are its own; host files show their host owners; what reaches the
//! host (`--rw`, `-v`) is done, and checked by the host, as the user who runs uml.

use std::path::Path;

use crate::StartError;

/// A guest user: ids and supplementary groups (sorted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GuestUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// `(name, uid, gid)` of each `/etc/passwd` line; `(name, gid, members)` of each
/// `/etc/group` line.
type Passwd = Vec<(String, u32, u32)>;
type Groups = Vec<(String, u32, Vec<String>)>;

fn read_db(root: &Path, file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root.join("etc").join(file)).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').map(str::to_string).collect())
        .collect()
}

fn passwd(root: &Path) -> Passwd {
    read_db(root, "passwd")
        .into_iter()
        .filter_map(|f| {
            Some((
                f.first()?.clone(),
                f.get(2)?.parse().ok()?,
                f.get(3)?.parse().ok()?,
            ))
        })
        .collect()
}

fn groups(root: &Path) -> Groups {
    read_db(root, "group")
        .into_iter()
        .filter_map(|f| {
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Some((f.first()?.clone(), f.get(2)?.parse().ok()?, members))
        })
        .collect()
}

fn unknown(what: &str, name: &str) -> StartError {
    StartError {
        message: format!("--user: no {what} {name:?} in the guest's /etc/{what}"),
        code: 125,
    }
}

/// The guest user `spec` names (`None`: root), in the guest root `root`.
pub(crate) fn resolve(spec: Option<&str>, root: &Path) -> Result<GuestUser, StartError> {
    let users = passwd(root);
    let all_groups = groups(root);
    let (user, group) = match spec {
        None => ("0", None),
        Some(s) => match s.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (s, None),
        },
    };
    let entry = match user.parse::<u32>() {
        Ok(uid) => users
            .iter()
            .find(|e| e.1 == uid)
            .cloned()
            .or(Some((String::new(), uid, 0))),
        Err(_) => users.iter().find(|e| e.0 == user).cloned(),
    };
    let (name, uid, mut gid) = entry.ok_or_else(|| unknown("passwd", user))?;
    if let Some(g) = group {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => all_groups
                .iter()
                .find(|e| e.0 == g)
                .map(|e| e.1)
                .ok_or_else(|| unknown("group", g))?,
        };
    }
    let mut list: Vec<u32> = all_groups
        .iter()
        .filter(|e| !name.is_empty() && e.2.contains(&name))
        .map(|e| e.1)
        .collect();
    if spec.is_some() {
        // A chosen user's groups include its group, as initgroups gives them; the default
        // root has just the groups that list it (none on Debian), as a root shell started
        // without a login has.
        list.push(gid);
    }
    list.sort_unstable();
    list.dedup();
    Ok(GuestUser {
        uid,
        gid,
        groups: list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("uml-user-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).expect("etc");
        std::fs::write(
            dir.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .expect("passwd");
        std::fs::write(
            dir.join("etc/group"),
            "root:x:0:\nwheel:x:10:alice,root\nalice:x:1000:\nstaff:x:50:\n",
        )
        .expect("group");
        dir
    }

    #[test]
    fn users_resolve_as_docker_does() {
        let r = root();
        let user = |s: Option<&str>| resolve(s, &r).map_err(|e| e.message);
        assert_eq!(
            user(None),
            Ok(GuestUser {
                uid: 0,
                gid: 0,
                groups: vec![10]
            })
        );
        assert_eq!(
            user(Some("alice")),
            Ok(GuestUser {
                uid: 1000,
                gid: 1000,
                groups: vec![10, 1000]
            })
        );
        assert_eq!(
            user(Some("alice:staff")),
            Ok(GuestUser {
                uid: 1000,
                gid: 50,
                groups: vec![10, 50]
            })
        );
        // A uid without an entry: group 0, as Docker.
        assert_eq!(
            user(Some("4242")),
            Ok(GuestUser {
                uid: 4242,
                gid: 0,
                groups: vec![0]
            })
        );
        assert_eq!(
            user(Some("65534:65534")),
            Ok(GuestUser {
                uid: 65534,
                gid: 65534,
                groups: vec![65534]
            })
        );
        assert!(user(Some("bob")).is_err_and(|m| m.contains("no passwd \"bob\"")));
        assert!(user(Some("alice:nogroup")).is_err());
        let _ = std::fs::remove_dir_all(&r);
    }
}
