/*
 * SageMaker's failure texts point operators at their logs, and so name the account: a container
 * error reads `... See https://<region>.console.aws.amazon.com/cloudwatch/home?region=...
 * #logEventViewer:group=/aws/sagemaker/Endpoints/<name> in account 123456789012 for more
 * information.` A caller of the job API needs the reason, not the account number or the console
 * link; operators find the full text in the handler's log line.
 */

const CONSOLE_URL = /https?:\/\/[a-z0-9.-]*console\.aws\.amazon\.com\/\S*/gi;
const ARN_ACCOUNT = /(arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:)[0-9]{12}(?=:)/g;
const ACCOUNT_ID = /(?<![0-9])[0-9]{12}(?![0-9])/g;

/** The text with account ids (bare or in ARNs) and console links replaced by placeholders. */
export function redactAccountDetails(text: string): string {
  return text
    .replace(CONSOLE_URL, '<console link>')
    .replace(ARN_ACCOUNT, '$1<account>')
    .replace(ACCOUNT_ID, '<account>');
}
