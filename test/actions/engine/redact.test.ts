import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from '../../../src/actions/engine/redact.js';

const r = createRedactor(['s3cr3t-from-config']);

describe('redaction', () => {
  it.each([
    ['mysql -uadmin -pTopSecret1 -e "SELECT 1"', 'TopSecret1'],
    ["mariadb -u root -p'quoted pw' db", 'quoted pw'],
    ['xtrabackup --backup --user=bk --password=Sup3r --target-dir=/mnt', 'Sup3r'],
    ['mysqldump --password "two words" db', 'two words'],
    ["CREATE USER 'repl'@'%' IDENTIFIED BY 'R3pl!pw'", 'R3pl!pw'],
    ["ALTER USER x IDENTIFIED WITH mysql_native_password BY 'pl4in'", 'pl4in'],
    ["CHANGE MASTER TO MASTER_HOST='db1', MASTER_PASSWORD='m4ster', MASTER_USE_GTID=slave_pos", 'm4ster'],
    ['CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = "s0urce", SOURCE_AUTO_POSITION=1', 's0urce'],
    ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI'],
    ['export AWS_SECRET_ACCESS_KEY=abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD', 'abcdEFGH'],
    ['{"AccessKeyId":"AKIAX","SecretAccessKey":"abcdEFGHijklMNOPqrstUVWXyz0123456789ABCD"}', 'abcdEFGHijkl'],
    ['the token is s3cr3t-from-config, keep it', 's3cr3t-from-config'],
    // nodetool-family JMX passwords
    ['nodetool -u cassandra -pw S3cret repair -pr', 'S3cret'],
    ['nodetool -u cassandra -pw=S3cret status', 'S3cret'],
    ["sudo -u cassandra nodetool -pw 'two words' status", 'two words'],
    ['nodetool --username cassandra --password S3cret status', 'S3cret'],
    ['sstableloader -d 10.0.0.1 -u cassandra -pw L0ader /data/ks/t', 'L0ader'],
    ['cqlsh -u cassandra -p Cq1pw 10.0.0.1', 'Cq1pw'],
    // PASSWORD 'x' in SQL and CQL
    ["CREATE USER ops WITH PASSWORD 'cqlPw1' SUPERUSER", 'cqlPw1'],
    ["CREATE ROLE ops WITH PASSWORD = 'r0le' AND LOGIN = true", 'r0le'],
    ["SET PASSWORD = 'setPw'", 'setPw'],
    ["SET PASSWORD FOR 'app'@'%' = PASSWORD('oldStyle')", 'oldStyle'],
    ["GRANT USAGE ON *.* TO 'a'@'%' IDENTIFIED BY PASSWORD '*94BDCEBE19083CE2A1F959FD02F964C7AF4CFC29'", '94BDCEBE19083CE2'],
    ['CHANGE MASTER TO MASTER_PASSWORD = "spaced", MASTER_HOST=\'db1\'', 'spaced'],
    // AWS secret keys beside their key id, anywhere
    ['aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI'],
    ['creds AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI'],
    ['ASIAIOSFODNN7EXAMPLE:abcdEFGHijklMNOPqrstUVWXyz0123456789+/AB', 'abcdEFGHijklMNOP'],
    // environment assignments
    ['MYSQL_PASSWORD=envPw mysql -u app', 'envPw'],
    ["export CASSANDRA_SECRET='exp0rted'", 'exp0rted'],
    ['env DEPLOY_TOKEN="tok en" ./deploy.sh', 'tok en'],
    ['MYSQL_PWD=pwdPw mysqladmin status', 'pwdPw'],
    ['cd /x && DB_PASSWORD=chained ./migrate', 'chained'],
    ['{"user":"app","db_password":"js0n"}', 'js0n'],
  ])('removes the secret from %s', (input, secret) => {
    const out = r.text(input);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it('leaves nodetool repair -pr alone: -p means something else there', () => {
    expect(r.text('nodetool repair -pr')).toBe('nodetool repair -pr');
    expect(r.text('sudo -u cassandra nodetool -h 10.0.0.1 -p 7199 status')).toBe('sudo -u cassandra nodetool -h 10.0.0.1 -p 7199 status');
  });

  it('leaves -pwf (a password file, not a password) and the JMX port alone', () => {
    expect(r.text('nodetool -u cassandra -pwf /etc/cassandra/jmxremote.password status')).toBe(
      'nodetool -u cassandra -pwf /etc/cassandra/jmxremote.password status',
    );
    expect(r.text('nodetool -h 10.0.0.1 -p 7199 status')).toBe('nodetool -h 10.0.0.1 -p 7199 status');
  });

  it('leaves a 40-character word alone when no access key id is beside it, and PWD (the working directory)', () => {
    const sha = 'commit 3f786850e387550fdab836ed7e6dc881de23001b';
    expect(r.text(sha)).toBe(sha);
    expect(r.text('PWD=/home/ops ls')).toBe('PWD=/home/ops ls');
  });

  it('leaves a bare --password (which prompts) alone', () => {
    expect(r.text('mysql --password -e "SELECT 1"')).toBe('mysql --password -e "SELECT 1"');
  });

  it('removes whole PEM private keys, in one text and across streamed lines', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQUJDREVGRw==\n-----END OPENSSH PRIVATE KEY-----';
    const one = r.text(`key:\n${key}\nafter`);
    expect(one).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
    expect(one).toContain('after');
    const line = r.stream();
    const streamed = `${key}\nafter`.split('\n').map(line);
    expect(streamed.join('\n')).not.toMatch(/b3Blbn|QUJDREVG/);
    expect(streamed.at(-1)).toBe('after');
  });

  it('cuts an unterminated key block to the end of the text', () => {
    expect(r.text('-----BEGIN RSA PRIVATE KEY-----\nMIIEow')).not.toContain('MIIEow');
  });

  it('blanks values under secret-looking keys in params', () => {
    const out = r.deep({ cluster: 'c1', password: 'plain', nested: { apiToken: 'x', note: 'mysql -pZZZ' }, count: 3 });
    expect(out).toEqual({ cluster: 'c1', password: REDACTED, nested: { apiToken: REDACTED, note: `mysql -p${REDACTED}` }, count: 3 });
  });

  it('is stable: redacting twice changes nothing more', () => {
    const once = r.text(
      "mysql -pabc --password=def IDENTIFIED BY 'ghi' MASTER_PASSWORD='jkl' nodetool -pw mno PASSWORD('pqr') X_TOKEN=stu AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    for (const secret of ['abc', 'def', 'ghi', 'jkl', 'mno', 'pqr', 'stu', 'wJalrXUtnFEMI']) expect(once).not.toContain(secret);
    expect(r.text(once)).toBe(once);
  });
});
