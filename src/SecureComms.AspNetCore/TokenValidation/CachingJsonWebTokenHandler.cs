using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms;

/// <summary>
/// JsonWebTokenHandler with a bounded cache of successful validations, keyed by the SHA-256 of the token (never the
/// token itself) and never kept past the token's <c>exp</c>. A hit skips signature and claim checks; the certificate
/// binding, expiry and policy are still checked on every request by the caller.
/// </summary>
internal sealed class CachingJsonWebTokenHandler(int capacity, TimeProvider timeProvider) : JsonWebTokenHandler
{
    private readonly ConcurrentDictionary<string, CachedValidation> _cache = new(StringComparer.Ordinal);

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (capacity == 0 || string.IsNullOrEmpty(token))
        {
            return await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        }

        string key = Key(token);
        DateTimeOffset now = timeProvider.GetUtcNow();
        if (_cache.TryGetValue(key, out CachedValidation? cached))
        {
            if (now < cached.ExpiresAt)
            {
                // A fresh identity per request: ASP.NET Core may add claims to it (claims transformation).
                return new TokenValidationResult
                {
                    IsValid = true,
                    ClaimsIdentity = cached.Identity.Clone(),
                    SecurityToken = cached.Token,
                    Issuer = cached.Token.Issuer,
                };
            }

            _cache.TryRemove(key, out _);
        }

        TokenValidationResult result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        if (result.IsValid && result.SecurityToken is JsonWebToken jwt)
        {
            if (_cache.Count >= capacity)
            {
                Evict(now);
            }

            if (_cache.Count < capacity)
            {
                _cache[key] = new CachedValidation(result.ClaimsIdentity.Clone(), jwt, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
            }
        }

        return result;
    }

    internal int Count => _cache.Count;

    private void Evict(DateTimeOffset now)
    {
        foreach (KeyValuePair<string, CachedValidation> entry in _cache)
        {
            if (entry.Value.ExpiresAt <= now)
            {
                _cache.TryRemove(entry.Key, out _);
            }
        }

        if (_cache.Count >= capacity)
        {
            _cache.Clear(); // still full of live tokens: start over rather than grow without bound
        }
    }

    private static string Key(string token)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        int max = Encoding.UTF8.GetMaxByteCount(token.Length);
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(max);
        try
        {
            int length = Encoding.UTF8.GetBytes(token, buffer);
            SHA256.HashData(buffer.AsSpan(0, length), hash);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        return Base64Url.EncodeToString(hash);
    }

    private sealed record CachedValidation(ClaimsIdentity Identity, JsonWebToken Token, DateTimeOffset ExpiresAt);
}
