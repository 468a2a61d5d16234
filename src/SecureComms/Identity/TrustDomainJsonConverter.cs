using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureComms;

/// <summary>
/// Writes a <see cref="TrustDomain"/> as its JSON string (<c>"example.org"</c>; <see langword="null"/> for the empty
/// value) and reads it back with <see cref="TrustDomain.Parse(string)"/>, also as a dictionary key.
/// </summary>
public sealed class TrustDomainJsonConverter : JsonConverter<TrustDomain>
{
    /// <inheritdoc/>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override TrustDomain Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? default : Parse(reader.TokenType == JsonTokenType.String ? reader.GetString() : null);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, TrustDomain value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value.IsEmpty)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value.Name);
        }
    }

    /// <inheritdoc/>
    public override TrustDomain ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Parse(reader.GetString());

    /// <inheritdoc/>
    public override void WriteAsPropertyName(Utf8JsonWriter writer, TrustDomain value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName(value.Name);
    }

    private static TrustDomain Parse(string? text) =>
        TrustDomain.TryParse(text, out TrustDomain domain, out string? error) ? domain : throw new JsonException($"Not a valid SPIFFE trust domain: {error}");
}
