// A hand-written fixture in the shape of @cdktf/provider-aws's generated code.
class AwsProvider extends cdktf.TerraformProvider {
    synthesizeHclAttributes() {
        const attrs = {
            region: {
                value: cdktf.stringToHclTerraform(this._region),
                isBlock: false,
                type: "simple",
                storageClassType: "string",
            },
        };
        return attrs;
    }
}
AwsProvider.tfResourceType = "aws";
