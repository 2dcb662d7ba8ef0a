/** Type tokens of the resources that more than one policy file checks. */
export const JOB = "aws:glue/job:Job";
export const CRAWLER = "aws:glue/crawler:Crawler";
export const ROLE = "aws:iam/role:Role";
export const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
export const ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
export const MANAGED_POLICY = "aws:iam/policy:Policy";
