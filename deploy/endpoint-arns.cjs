// The exact ARN of every allow-listed endpoint (param endpointNames, comma-separated), for the
// InvokeEndpointAsync statement: CloudFormation cannot map a list, the Framework can.
module.exports = async ({ resolveVariable }) => {
  const names = String(await resolveVariable('param:endpointNames'))
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error('param endpointNames lists no endpoint');
  return names.map((name) => {
    if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name)) {
      throw new Error(`param endpointNames: "${name}" is not a SageMaker endpoint name`);
    }
    // SageMaker endpoint ARNs carry the name in lower case.
    return {
      'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:endpoint/${name.toLowerCase()}`,
    };
  });
};
