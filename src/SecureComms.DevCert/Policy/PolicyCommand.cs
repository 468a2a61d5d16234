using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary><c>policy</c>: the central policy of one or more services, checked with the code the services run.</summary>
internal static class PolicyCommand
{
    /// <summary>The <c>policy</c> command group.</summary>
    public static Command Create(CommandContext context) =>
        new("policy", "A service's central policy, decided by the service's own code: 'policy diff', 'policy graph', 'policy suggest'.")
        {
            PolicyDiffCommand.Create(context),
            PolicyGraphCommand.Create(context),
            PolicySuggestCommand.Create(context),
        };
}
