// EC2's view of instances' network interfaces and security groups, on top of
// the mocked account: DescribeInstances shows each instance's state, VPC and
// interfaces with their groups; ModifyNetworkInterfaceAttribute changes them;
// DescribeSecurityGroups answers from a small table. Stateful, so a fence can
// be read back as EC2 would show it.

import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type Instance as Ec2Instance,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { ec2Instance, FLEET, type MockedAccount } from '../../helpers/aws-fleet.js';

export const VPC = 'vpc-0db';
export const FENCE_SG = 'sg-0fence';
export const DB_SG = 'sg-0db';

export interface MockNetwork {
  /** Instance state by id (running when absent); 'gone' makes DescribeInstances answer InvalidInstanceID.NotFound. */
  states: Map<string, string>;
  /** Interface id -> its groups, per instance, primary first. */
  interfaces: Map<string, Array<{ id: string; groups: string[] }>>;
  groups: Map<string, { vpc: string; inbound: IpPermission[] }>;
}

export function awsServiceError(name: string, message: string, requestId = 'req-ec2'): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400, requestId } });
}

/** Every FLEET instance running in VPC with one interface in DB_SG; FENCE_SG (no inbound rule) and DB_SG exist. */
export function mockNetwork(account: MockedAccount): MockNetwork {
  const net: MockNetwork = {
    states: new Map(),
    interfaces: new Map(FLEET.map((n, i) => [n.id, [{ id: `eni-0${i}a`, groups: [DB_SG] }]])),
    groups: new Map([
      [FENCE_SG, { vpc: VPC, inbound: [] }],
      [DB_SG, { vpc: VPC, inbound: [{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId: 'sg-0app' }] }] }],
    ]),
  };
  account.ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const wanted = FLEET.filter((n) => !input.InstanceIds || input.InstanceIds.includes(n.id));
    if (input.InstanceIds?.some((id) => net.states.get(id) === 'gone')) {
      throw awsServiceError('InvalidInstanceID.NotFound', `The instance ID '${input.InstanceIds.join(', ')}' does not exist`);
    }
    const instances: Ec2Instance[] = wanted.map((n) => ({
      ...ec2Instance(n),
      Tags: Object.entries(account.tags.get(n.id) ?? {}).map(([Key, Value]) => ({ Key, Value })),
      State: { Name: (net.states.get(n.id) ?? 'running') as never },
      VpcId: VPC,
      NetworkInterfaces: (net.interfaces.get(n.id) ?? []).map((eni, device) => ({
        NetworkInterfaceId: eni.id,
        Attachment: { DeviceIndex: device },
        Groups: eni.groups.map((GroupId) => ({ GroupId, GroupName: GroupId })),
      })),
    }));
    // Reversed, so an adapter that trusts the listing's order over DeviceIndex is caught.
    for (const i of instances) i.NetworkInterfaces?.reverse();
    return { Reservations: [{ Instances: instances }] };
  });
  account.ec2.on(DescribeSecurityGroupsCommand).callsFake((input: { GroupIds?: string[] }) => {
    const ids = input.GroupIds ?? [];
    const missing = ids.find((id) => !net.groups.has(id));
    if (missing) throw awsServiceError('InvalidGroup.NotFound', `The security group '${missing}' does not exist`);
    return {
      SecurityGroups: ids.map((GroupId) => ({ GroupId, VpcId: net.groups.get(GroupId)!.vpc, IpPermissions: net.groups.get(GroupId)!.inbound })),
    };
  });
  account.ec2.on(ModifyNetworkInterfaceAttributeCommand).callsFake((input: { NetworkInterfaceId: string; Groups?: string[] }) => {
    for (const list of net.interfaces.values()) {
      const eni = list.find((e) => e.id === input.NetworkInterfaceId);
      if (eni) {
        eni.groups = [...(input.Groups ?? [])];
        return {};
      }
    }
    throw awsServiceError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${input.NetworkInterfaceId}' does not exist`);
  });
  return net;
}
