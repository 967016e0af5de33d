// A small AWS account on a local HTTP server (127.0.0.1), for process tests:
// the CLI in a child process points the SDK at it with AWS_ENDPOINT_URL, so
// the real clients, signing, retries and HTTP handler run as they do against
// AWS, and nothing leaves the machine. It answers what `ls` asks: EC2's
// DescribeInstances (`instances` nodes of one MySQL cluster on 127.0.3.x),
// DescribeInstanceStatus and DescribeVolumeStatus (all well), STS's
// GetCallerIdentity and CloudWatch's GetMetricData (no points); anything else
// is refused as AccessDenied, which the CLI reports as it would from AWS.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAws {
  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL. */
  url: string;
  /** The operations asked, in order (EC2/STS by Action, CloudWatch by X-Amz-Target). */
  seen: string[];
  close(): Promise<void>;
}

export const FAKE_ACCOUNT = '123456789012';

const EC2 = 'http://ec2.amazonaws.com/doc/2016-11-15/';

function instanceXml(n: number): string {
  const id = `i-0f${n.toString(16).padStart(15, '0')}`;
  return `<item><instanceId>${id}</instanceId><instanceType>r6i.large</instanceType>
<instanceState><code>16</code><name>running</name></instanceState>
<privateIpAddress>127.0.3.${n}</privateIpAddress><placement><availabilityZone>us-east-1a</availabilityZone></placement>
<launchTime>2026-01-10T08:00:00.000Z</launchTime>
<tagSet><item><key>Name</key><value>orders-db-${n}</value></item><item><key>nightshift:cluster</key><value>orders</value></item>
<item><key>nightshift:engine</key><value>mysql</value></item></tagSet></item>`;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/** `onRequest` runs as each request arrives, before it is answered (a test looks at the client's side then: it is in this process). */
export async function startFakeAws(opts: { instances: number; onRequest?: () => void }): Promise<FakeAws> {
  const seen: string[] = [];
  const instances = Array.from({ length: opts.instances }, (_, i) => instanceXml(i + 1)).join('\n');
  const server = createServer((req, res) => {
    void body(req).then((text) => {
      const target = req.headers['x-amz-target'];
      const action = typeof target === 'string' ? target.replace(/^.*\./, '') : (new URLSearchParams(text).get('Action') ?? `${req.method} ${req.url}`);
      seen.push(action);
      opts.onRequest?.();
      const xml = (status: number, payload: string) => {
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': `req-${seen.length}` });
        res.end(payload);
      };
      switch (action) {
        case 'DescribeInstances':
          return xml(200, `<DescribeInstancesResponse xmlns="${EC2}"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>${instances}</instancesSet></item></reservationSet></DescribeInstancesResponse>`);
        case 'DescribeInstanceStatus':
          return xml(200, `<DescribeInstanceStatusResponse xmlns="${EC2}"><requestId>r</requestId><instanceStatusSet/></DescribeInstanceStatusResponse>`);
        case 'DescribeVolumeStatus':
          return xml(200, `<DescribeVolumeStatusResponse xmlns="${EC2}"><requestId>r</requestId><volumeStatusSet/></DescribeVolumeStatusResponse>`);
        case 'GetCallerIdentity':
          return xml(
            200,
            `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${FAKE_ACCOUNT}:user/oncall</Arn><UserId>AIDATEST</UserId><Account>${FAKE_ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
          );
        case 'GetMetricData':
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `req-${seen.length}` });
          return res.end('{"MetricDataResults":[]}');
        default:
          return xml(403, `<ErrorResponse><Error><Code>AccessDenied</Code><Message>not in the fake account: ${action}</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
