//! `avisa admin create|reset-password`: console administrators, edited in the data file while
//! avisa is stopped (a one-time password is printed). On a running avisa it says, in pt-BR, to
//! stop it first: the person who lost the password has no session or token to ask the server.

use std::process::ExitCode;

use super::AdminCommand;
use crate::db::{Db, DbError, DbOptions, NewUser, Role};
use crate::domain::{Clock, SystemClock};
use crate::http::password::{hash_password, one_time_password};

pub(super) fn admin(command: AdminCommand) -> ExitCode {
    let data = match &command {
        AdminCommand::Create { data, .. } | AdminCommand::ResetPassword { data, .. } => {
            data.clone()
        }
    };
    let db = match Db::open(&data.data_dir, &DbOptions::default()) {
        Ok(s) => s,
        Err(DbError::Locked(dir)) => {
            // Said in Portuguese too: the merchant who lost the password reads this first.
            eprintln!(
                "avisa admin: o avisa está rodando e usa os dados em {dir}. Pare o avisa \
                 (por exemplo: sudo systemctl stop avisa), rode este comando de novo e inicie o \
                 avisa outra vez (sudo systemctl start avisa). Um administrador logado também pode \
                 gerar uma senha provisória em Usuários.\n\
                 (the data directory {dir} is in use by a running avisa; stop it first)",
                dir = dir.display()
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("avisa admin: {e}");
            return ExitCode::from(1);
        }
    };
    let password = one_time_password();
    let result = match command {
        AdminCommand::Create { email, .. } => db
            .create_user(NewUser {
                email,
                name: String::new(),
                role: Role::Admin,
                password_hash: hash_password(&password),
                lang: "pt-BR".into(),
                must_change_password: true,
                created_at: SystemClock.now(),
            })
            .map(|u| u.email),
        AdminCommand::ResetPassword { email, .. } => db.user_by_email(&email).and_then(|u| {
            let hash = hash_password(&password);
            db.update_user(u.id, |u| {
                u.password_hash = hash;
                u.must_change_password = true;
                u.disabled = false;
            })
            .map(|u| u.email)
        }),
    };
    match result {
        Ok(email) => {
            println!("{email}: one-time password {password}");
            println!("It must be changed at the first login.");
            ExitCode::SUCCESS
        }
        Err(DbError::NotFound) => {
            eprintln!("avisa admin: no user with that e-mail");
            ExitCode::from(1)
        }
        Err(DbError::Conflict(_)) => {
            eprintln!("avisa admin: a user with that e-mail already exists (use reset-password)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("avisa admin: {e}");
            ExitCode::from(1)
        }
    }
}
