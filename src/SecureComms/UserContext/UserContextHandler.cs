using System.Security.Claims;
using Microsoft.Extensions.DependencyInjection;

namespace SecureComms;

/// <summary>
/// Attaches the end-user context to the requests of a client configured with <c>UserContext:Mode</c>: a context minted
/// for the user the edge authenticated (<see cref="UserContextMode.Mint"/>) or the received one, wrapped
/// (<see cref="UserContextMode.Forward"/>). Any user-context header the application set itself is removed first: only
/// SecureComms writes it. No user, no header; the receiver's policy decides whether a user is required. The user is the
/// one set on the request (<see cref="SecureCommsUserContext.User"/>), else the user of the request being served
/// (<see cref="IServedRequestAccessor"/>, when the host registered one).
/// </summary>
internal sealed class UserContextHandler : DelegatingHandler
{
    private readonly ClientUserContextOptions _options;
    private readonly string _audience;
    private readonly UserContextMinter _minter;
    private readonly IReadOnlyList<string> _claims;
    private readonly IServedRequestAccessor? _servedRequest;

    private UserContextHandler(ClientUserContextOptions options, string audience, UserContextMinter minter, IServedRequestAccessor? servedRequest)
    {
        _options = options;
        _audience = audience;
        _minter = minter;
        _claims = options.EffectiveClaims;
        _servedRequest = servedRequest;
    }

    /// <summary>The handler of client <paramref name="name"/>: a pass-through when it sends no user context.</summary>
    public static DelegatingHandler Create(IServiceProvider services, string name)
    {
        SecureClientOptions client = services.GetRequiredService<LastGoodOptions<SecureCommsOptions>>().Current.Clients[name];
        if (client.UserContext is not { Mode: not UserContextMode.None } options)
        {
            return new PassThroughHandler();
        }

        string audience = EffectiveAudience(client)
            ?? throw new InvalidOperationException($"SecureComms:Clients:{name}:UserContext:Audience is required when ExpectedServer is not one exact SPIFFE ID.");
        return new UserContextHandler(options, audience, services.GetRequiredService<UserContextMinter>(), services.GetService<IServedRequestAccessor>());
    }

    /// <summary>The receiver's SPIFFE ID: <c>UserContext:Audience</c>, else <c>ExpectedServer</c> when it is one exact ID.</summary>
    internal static string? EffectiveAudience(SecureClientOptions client) =>
        client.UserContext?.Audience is { Length: > 0 } audience ? audience
        : client.ExpectedServer is { } expected && !expected.Contains('*', StringComparison.Ordinal) && SpiffeId.TryParse(expected, out SpiffeId id) && !id.IsTrustDomainId ? id.ToString()
        : null;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Remove(SecureCommsUserContext.HeaderName);
        ClaimsPrincipal? user = request.Options.TryGetValue(SecureCommsUserContext.User, out ClaimsPrincipal? explicitUser)
            ? explicitUser
            : _servedRequest?.User;
        if (user is not null)
        {
            string? context = _options.Mode == UserContextMode.Forward
                ? user.GetEndUser() is { } received ? _minter.Forward(received, _audience, _options.Lifetime) : null
                : _minter.MintForUser(user, _audience, _options.Lifetime, _claims);
            if (context is not null)
            {
                request.Headers.TryAddWithoutValidation(SecureCommsUserContext.HeaderName, context);
            }
        }

        return base.SendAsync(request, cancellationToken);
    }
}
